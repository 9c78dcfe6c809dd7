//go:build linux

package probe

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	golog "log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
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
//
// FAILOVER_PROBE_CPU_ADDR names a backend already running instead, such as
// bench/backend pinned to another cpu than the benchmark: where the scheduler
// puts the two processes moves the figures by a third.
func startCPUBackend(b *testing.B) string {
	b.Helper()
	if addr := os.Getenv("FAILOVER_PROBE_CPU_ADDR"); addr != "" {
		return addr
	}
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
// batches started together on workers that stay, as the engine starts the
// probes of one tick.
//
// The floor- cases are the reference: the same connection and exchange in
// bare system calls, with no HTTP parsing, no deadline and no error
// classification - what the kernel alone charges a prober for a fresh
// connection on this machine, which no prober can go below.
//
//	go test -run '^$' -bench BenchmarkProbeCPU -count 6 ./plugin/probe
func BenchmarkProbeCPU(b *testing.B) {
	addr := startCPUBackend(b)
	probers := func(spec Spec) func(*testing.B) Prober {
		return func(b *testing.B) Prober {
			spec.Timeout = 5 * time.Second
			p, err := New(spec, "127.0.0.1")
			if err != nil {
				b.Fatal(err)
			}
			return p
		}
	}
	floor := func(exchange bool) func(*testing.B) Prober {
		return func(b *testing.B) Prober {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil || !ap.Addr().Is4() {
				b.Fatalf("The floor cases take an IPv4 address and port, got %q", addr)
			}
			return &floorProber{to: &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, exchange: exchange}
		}
	}
	for _, tc := range []struct {
		name string
		make func(*testing.B) Prober
	}{
		{"tcp", probers(Spec{URL: "tcp://" + addr})},
		{"floor-tcp", floor(false)},
		{"http", probers(Spec{URL: "http://" + addr + "/health"})},
		{"http-body", probers(Spec{URL: "http://" + addr + "/health", Body: "ok"})},
		{"floor-http", floor(true)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			batch, pause := cpuBenchPacing(b)
			jobs := make(chan Prober)
			var wg sync.WaitGroup
			var failed sync.Once
			for range batch {
				go func() {
					for p := range jobs {
						if r := p.Probe(context.Background()); !r.OK() {
							failed.Do(func() { b.Errorf("Expected every probe to succeed, got %s", r.Reason()) })
						}
						wg.Done()
					}
				}()
			}
			defer close(jobs)
			ps := make([]Prober, batch)
			for i := range ps {
				ps[i] = tc.make(b)
			}
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				n := min(batch, b.N-done)
				wg.Add(n)
				for _, p := range ps[:n] {
					jobs <- p
				}
				wg.Wait()
				time.Sleep(pause)
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

// cpuBenchPacing is how BenchmarkProbeCPU starts its probes: batch at a time
// (FAILOVER_PROBE_CPU_BATCH, 20 unless set), with a pause after each
// (FAILOVER_PROBE_CPU_PAUSE, none unless set). A batch of 100 and a pause of
// 90ms come near the engine's pace with 10,000 endpoints every 10 s, the cpu
// idle between ticks, which makes each probe dearer than back to back.
func cpuBenchPacing(b *testing.B) (batch int, pause time.Duration) {
	batch = 20
	if v := os.Getenv("FAILOVER_PROBE_CPU_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("FAILOVER_PROBE_CPU_BATCH=%q: want a count", v)
		}
		batch = n
	}
	if v := os.Getenv("FAILOVER_PROBE_CPU_PAUSE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			b.Fatalf("FAILOVER_PROBE_CPU_PAUSE=%q: want a duration", v)
		}
		pause = d
	}
	return batch, pause
}

// floorProber connects, optionally writes a request and reads until the end
// of the response headers, and closes with a reset, in system calls on a
// non-blocking socket that waits in Go's poller as net's do.
type floorProber struct {
	to       *syscall.SockaddrInet4
	exchange bool
}

var floorRequest = []byte("GET /health HTTP/1.1\r\nHost: x\r\nUser-Agent: coredns-failover\r\nConnection: close\r\n\r\n")

func (p *floorProber) Probe(context.Context) Result {
	if err := p.probe(); err != nil {
		return Result{Kind: Error, Detail: err.Error()}
	}
	return Result{Kind: OK}
}

func (p *floorProber) probe() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	err = syscall.Connect(fd, p.to)
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return err
	}
	f := os.NewFile(uintptr(fd), "probe")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var soErr error
	if err := rc.Write(func(fd uintptr) bool {
		soErr = nil
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err != nil {
			soErr = err
		} else if n != 0 {
			soErr = syscall.Errno(n)
		}
		return soErr != syscall.EINPROGRESS && soErr != syscall.EALREADY
	}); err != nil {
		return err
	}
	if soErr != nil {
		return soErr
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
	})
	if !p.exchange {
		return nil
	}
	if _, err := f.Write(floorRequest); err != nil {
		return err
	}
	var buf [512]byte
	var got []byte
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := f.Read(buf[:])
		if err != nil {
			return err
		}
		got = append(got, buf[:n]...)
	}
	return nil
}
