//go:build linux

package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	golog "log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuBackendEnv is set in the process that serves BenchmarkProbeCPU's probes.
const cpuBackendEnv = "FAILOVER_PROBE_CPU_BACKEND"

// TestCPUBenchBackend is BenchmarkProbeCPU's HTTP backend. It runs in a
// process of its own so that what it spends answering is not counted as the
// prober's, and serves until its stdin closes.
func TestCPUBenchBackend(t *testing.T) {
	if os.Getenv(cpuBackendEnv) == "" {
		t.Skipf("Only runs as BenchmarkProbeCPU's backend (%s=1)", cpuBackendEnv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          golog.New(io.Discard, "", 0),
	}
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(ln)
	fmt.Printf("listening %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// startCPUBackend runs TestCPUBenchBackend in a child process and returns
// its address.
func startCPUBackend(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCPUBenchBackend$", "-test.bench=^$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), cpuBackendEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go io.Copy(io.Discard, stdout)
			return addr
		}
	}
	b.Fatalf("Expected the backend to print its address, got %v", sc.Err())
	return ""
}

// BenchmarkProbeCPU measures the CPU one probe costs the prober's process,
// user and system, against a backend in another process. Probes run in
// batches started together, as the engine starts the probes of one tick.
//
//	go test -run '^$' -bench BenchmarkProbeCPU -count 6 ./plugin/probe
func BenchmarkProbeCPU(b *testing.B) {
	addr := startCPUBackend(b)
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"tcp", Spec{URL: "tcp://" + addr}},
		{"http", Spec{URL: "http://" + addr + "/health"}},
		{"http-body", Spec{URL: "http://" + addr + "/health", Body: "ok"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const batch = 20
			tc.spec.Timeout = 5 * time.Second
			probers := make([]Prober, batch)
			for i := range probers {
				p, err := New(tc.spec, "127.0.0.1")
				if err != nil {
					b.Fatal(err)
				}
				probers[i] = p
			}
			var failed sync.Once
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				var wg sync.WaitGroup
				for _, p := range probers[:min(batch, b.N-done)] {
					wg.Go(func() {
						if r := p.Probe(context.Background()); !r.OK() {
							failed.Do(func() { b.Errorf("Expected every probe to succeed, got %s", r.Reason()) })
						}
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			user := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano())
			sys := time.Duration(ru1.Stime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(float64((user+sys).Microseconds())/float64(b.N), "cpu-µs/probe")
			b.ReportMetric(float64(sys.Microseconds())/float64(b.N), "sys-µs/probe")
		})
	}
}
