//go:build linux

package failover

import (
	"bufio"
	"fmt"
	"io"
	golog "log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"

	"github.com/failover-dns/failover/plugin/health"
	"github.com/failover-dns/failover/plugin/probe"
)

// The scale test runs many endpoints with HTTP checks for minutes, so it only
// runs when asked (bench/scale.sh does).
const (
	scaleEnv        = "FAILOVER_SCALE"         // "1" runs TestScale10k
	scaleNEnv       = "FAILOVER_SCALE_N"       // endpoints; default 10000
	scaleWindowEnv  = "FAILOVER_SCALE_WINDOW"  // measuring window; default 3m
	scaleProfileEnv = "FAILOVER_SCALE_PROFILE" // directory for cpu.pprof and heap.pprof of the window
	scaleBackendEnv = "FAILOVER_SCALE_BACKEND" // set in the backend process: how many listeners
	// "1": the backend accepts connections and never answers, and the test
	// measures only how soon a fresh server answers.
	scaleBlackHoleEnv = "FAILOVER_SCALE_BLACKHOLE"
)

// What the plugin promises at 10,000 endpoints probed every 10 s.
const (
	scaleMaxCPU   = 0.10 // of one core
	scaleMaxRSS   = 120 << 20
	scaleMaxLate  = 100 * time.Millisecond // p99 of probe lateness
	scaleMaxSetup = 2 * time.Second
	// The first answer of a fresh server, with healthy endpoints, and with
	// endpoints that never answer: then the longest timeout and a second.
	scaleMaxFirstAnswer          = time.Second
	scaleMaxFirstAnswerBlackHole = 2*time.Second + time.Second
	// The busiest 100 ms of the window against the mean: how evenly the
	// probes are spread.
	scaleMaxBurst = 1.1
	scaleBurstBin = 100 * time.Millisecond

	scaleInterval = 10 * time.Second
	// Probes are spread over this many backend addresses, as real endpoints
	// are distinct hosts, rather than pouring ~1000 new connections a second
	// into one listen queue.
	scaleListeners = 64
)

// TestScaleBackend is the HTTP backend of TestScale10k. It runs in a process
// of its own, so that the CPU it spends answering probes is not counted as
// the plugin's. It listens on 127.0.1.1, 127.0.1.2, … and answers 200 on
// every path until its stdin closes.
func TestScaleBackend(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(scaleBackendEnv))
	if err != nil {
		t.Skipf("Only runs as TestScale10k's backend process (%s=N)", scaleBackendEnv)
	}
	raiseFileLimit(t)
	if os.Getenv(scaleBlackHoleEnv) == "1" {
		// Listening without accepting: the kernel completes the handshakes
		// and then holds the connections, or drops the SYNs once the queue
		// is full; no probe ever gets an answer.
		for i := range n {
			addr := net.IPv4(127, 0, 1+byte(i>>8), byte(i+1)).String()
			ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
			if err != nil {
				t.Fatalf("Expected to listen on %s, got %v", addr, err)
			}
			defer ln.Close()
			fmt.Printf("listening %s\n", ln.Addr())
		}
		io.Copy(io.Discard, os.Stdin)
		return
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          golog.New(io.Discard, "", 0),
	}
	// Probes open a fresh connection each; keeping them would only pile up
	// descriptors on this side.
	srv.SetKeepAlivesEnabled(false)
	for i := range n {
		addr := net.IPv4(127, 0, 1+byte(i>>8), byte(i+1)).String()
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		if err != nil {
			t.Fatalf("Expected to listen on %s, got %v", addr, err)
		}
		go srv.Serve(ln)
		fmt.Printf("listening %s\n", ln.Addr())
	}
	// The parent closes stdin when it is done, or dies, which closes it too.
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// startScaleBackend runs TestScaleBackend in a child process and returns the
// addresses it listens on and its process id.
func startScaleBackend(t *testing.T, listeners int) ([]string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleBackend$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), scaleBackendEnv+"="+strconv.Itoa(listeners))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("Expected a pipe to the backend, got %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("Expected a pipe from the backend, got %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("Expected the backend process to start, got %v", err)
	}
	// Room for every address, so that reading the backend's output to its
	// end never waits for this test to take them.
	addrs := make(chan string, listeners)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		defer close(addrs)
		sc := bufio.NewScanner(stdout)
		for n := 0; sc.Scan(); {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok && n < listeners {
				addrs <- a
				n++
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-drained:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-drained
		}
		cmd.Wait()
	})
	var out []string
	timeout := time.After(30 * time.Second)
	for len(out) < listeners {
		select {
		case a, ok := <-addrs:
			if !ok {
				t.Fatalf("Expected %d backend listeners, the backend exited after %d", listeners, len(out))
			}
			out = append(out, a)
		case <-timeout:
			t.Fatalf("Expected %d backend listeners within 30s, got %d", listeners, len(out))
		}
	}
	return out, cmd.Process.Pid
}

// raiseFileLimit lifts the soft limit on open files to the hard one: probes
// and the backend each hold a few hundred connections at once.
func raiseFileLimit(t *testing.T) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("Expected to read RLIMIT_NOFILE, got %v", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Logf("Could not raise RLIMIT_NOFILE to %d: %v", lim.Max, err)
		}
	}
}

// scaleStanzas writes one stanza per endpoint. Each endpoint's check has its
// own path, so that every endpoint gets its own monitor; the addresses in
// 10.0.0.0/8 are answer data only and never contacted.
func scaleStanzas(n int, backends []string) string {
	var b strings.Builder
	for i := range n {
		ip := net.IPv4(10, byte((i+1)>>16), byte((i+1)>>8), byte(i+1))
		fmt.Fprintf(&b, "failover e%d.example.org {\n\tinterval %s\n\tendpoint %s check http://%s/e/%d\n}\n",
			i, scaleInterval, ip, backends[i%len(backends)], i)
	}
	return b.String()
}

// scaleRecorder keeps what the engine reports for every probe, by phase.
type scaleRecorder struct {
	mu    sync.Mutex
	phase int // 0 first round, 1 warming up, 2 measuring, 3 done

	// First round.
	firstResult, lastResult time.Time
	firstDuration           []time.Duration

	// Warming up.
	seen map[*health.Monitor]struct{}
	want int           // monitors to see
	warm chan struct{} // closed once every monitor was probed

	// Measuring; the slices are preallocated and never grow.
	windowStart time.Time
	late        []time.Duration
	duration    []time.Duration
	dropped     int
	slots       []scaleSlot // one per interval of the window
	bins        []int       // probes started in each scaleBurstBin of the window

	probes   [4]int
	failures [4]int
	kinds    map[string]int // failures by kind, every phase
	failure  probe.Result   // the first failure
}

// scaleSlot sums up one interval of the window.
type scaleSlot struct {
	probes, failures int
	first            int // index in late of the slot's first probe
}

func (l *scaleRecorder) observe(m *health.Monitor, r probe.Result, late time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Read under the lock, so that late holds the probes in time order.
	now := time.Now()
	l.probes[l.phase]++
	if !r.OK() {
		if len(l.kinds) == 0 {
			l.failure = r
		}
		l.kinds[r.Kind.String()]++
		l.failures[l.phase]++
	}
	switch l.phase {
	case 0:
		if l.firstResult.IsZero() {
			l.firstResult = now
		}
		l.lastResult = now
		if len(l.firstDuration) < cap(l.firstDuration) {
			l.firstDuration = append(l.firstDuration, r.Duration)
		}
	case 1:
		if _, ok := l.seen[m]; !ok {
			l.seen[m] = struct{}{}
			if len(l.seen) == l.want {
				close(l.warm)
			}
		}
	case 2:
		// Within the preallocated capacity only, so that recording does not
		// add to the memory being measured.
		if len(l.late) < cap(l.late) {
			l.late = append(l.late, late)
			l.duration = append(l.duration, r.Duration)
		} else {
			l.dropped++
		}
		if i := int(now.Add(-r.Duration).Sub(l.windowStart) / scaleBurstBin); i >= 0 && i < len(l.bins) {
			l.bins[i]++
		}
		if i := int(now.Sub(l.windowStart) / scaleInterval); i < len(l.slots) {
			sl := &l.slots[i]
			if sl.probes == 0 {
				sl.first = len(l.late) - 1
			}
			sl.probes++
			if !r.OK() {
				sl.failures++
			}
		}
	}
}

func (l *scaleRecorder) setPhase(p int) {
	l.mu.Lock()
	l.phase = p
	if p == 2 {
		l.windowStart = time.Now()
	}
	l.mu.Unlock()
}

// TestScale10k runs 10,000 endpoints with HTTP checks every 10 s against a
// backend process on loopback and measures what the plugin costs: setup time,
// CPU, memory and how late probes start.
func TestScale10k(t *testing.T) {
	if os.Getenv(scaleEnv) != "1" {
		t.Skipf("Takes minutes; set %s=1 to run it (bench/scale.sh)", scaleEnv)
	}
	n := 10000
	if v := os.Getenv(scaleNEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1<<20 {
			t.Fatalf("Expected %s to be a number of endpoints, got %q", scaleNEnv, v)
		}
	}
	window := 3 * time.Minute
	if v := os.Getenv(scaleWindowEnv); v != "" {
		var err error
		if window, err = time.ParseDuration(v); err != nil || window < scaleInterval {
			t.Fatalf("Expected %s to be a duration of at least %s, got %q", scaleWindowEnv, scaleInterval, v)
		}
	}
	if liveChecks(t) != 0 {
		t.Fatalf("Expected no monitors left by other tests, got %d", liveChecks(t))
	}
	raiseFileLimit(t)
	blackHole := os.Getenv(scaleBlackHoleEnv) == "1"
	backends, backendPID := startScaleBackend(t, scaleListeners)
	stanzas := scaleStanzas(n, backends)

	// The parse alone, as setup runs it for the server block.
	c := caddy.NewTestController("dns", stanzas)
	c.ServerBlockKeys = []string{"example.org."}
	t0 := time.Now()
	f, err := parse(c)
	parseTime := time.Since(t0)
	if err != nil {
		t.Fatalf("Expected %d stanzas to parse, got %v", n, err)
	}
	if len(f.stanzas) != n {
		t.Fatalf("Expected %d stanzas, got %d", n, len(f.stanzas))
	}

	// Room for every steady probe of the window and some: fast probes only
	// come after a failure, which fails the test anyway.
	steady := n * int(window/scaleInterval+3)
	rec := &scaleRecorder{
		firstDuration: make([]time.Duration, 0, n),
		seen:          make(map[*health.Monitor]struct{}, n),
		want:          n,
		warm:          make(chan struct{}),
		late:          make([]time.Duration, 0, steady),
		duration:      make([]time.Duration, 0, steady),
		slots:         make([]scaleSlot, int(window/scaleInterval)+1),
		bins:          make([]int, int(window/scaleBurstBin)),
		kinds:         make(map[string]int),
	}
	// A registry of the test's own, installed while no probe runs and
	// restored after the server's probes have stopped (cleanups run
	// last-in first-out).
	old := monitors
	monitors = health.NewRegistry(0, func(m *health.Monitor, r probe.Result, late time.Duration) {
		rec.observe(m, r, late)
		observeProbe(m, r, late)
	})
	t.Cleanup(func() { monitors = old })

	corefile := "example.org:0 {\n\tbind 127.0.0.1\n" + stanzas + "}\n"
	t0 = time.Now()
	s := startServer(t, corefile)
	startTime := time.Since(t0)
	rec.setPhase(1)
	var firstAnswer time.Duration
	for k, i := range []int{0, n / 2, n - 1} {
		name := fmt.Sprintf("e%d.example.org.", i)
		want := net.IPv4(10, byte((i+1)>>16), byte((i+1)>>8), byte(i+1)).String()
		if got := addresses(s.mustAsk(t, "udp", name, dns.TypeA)); !slices.Equal(got, []string{want}) {
			t.Fatalf("Expected %s to answer [%s], got %v", name, want, got)
		}
		if k == 0 {
			firstAnswer = time.Since(t0)
		}
	}
	if got := liveChecks(t); got != n {
		t.Fatalf("Expected %d health checks, one per endpoint, got %d", n, got)
	}
	if blackHole {
		rec.mu.Lock()
		failed := rec.failures[0]
		rec.mu.Unlock()
		t.Logf("| scale: %d endpoints whose checks accept and never answer (timeout 2s), %d backend addresses", n, len(backends))
		t.Logf("| first answer         %8.3f s    target <= %s; caddy.Start %.3f s", firstAnswer.Seconds(), scaleMaxFirstAnswerBlackHole, startTime.Seconds())
		t.Logf("| first probes failed  %8d    by the first answer; the others count as up until theirs fail", failed)
		if firstAnswer > scaleMaxFirstAnswerBlackHole {
			t.Errorf("Expected the first answer within %s with endpoints that never answer, got %s", scaleMaxFirstAnswerBlackHole, firstAnswer)
		}
		return
	}

	// The steady state starts once every endpoint has had a probe on its
	// own phase, one interval after the first round.
	select {
	case <-rec.warm:
	case <-time.After(3 * scaleInterval):
		rec.mu.Lock()
		seen := len(rec.seen)
		rec.mu.Unlock()
		t.Fatalf("Expected every endpoint to be probed within %s of the first round, got %d of %d", 3*scaleInterval, seen, n)
	}
	runtime.GC()

	var stopProfile func()
	if dir := os.Getenv(scaleProfileEnv); dir != "" {
		stopProfile = startScaleProfile(t, dir)
	}
	control := startTimerControl(window, len(rec.slots))
	load0, pressure0 := loadAverage(), cpuPressure()
	backend0 := procCPU(backendPID)
	user0, sys0 := rusage(t)
	w0 := time.Now()
	rec.setPhase(2)
	var maxRSS, maxHeap, lastRSS, lastHeap uint64
	sample := func() {
		var stats runtime.MemStats
		runtime.ReadMemStats(&stats)
		lastRSS, lastHeap = vmRSS(t), stats.HeapInuse
		maxRSS, maxHeap = max(maxRSS, lastRSS), max(maxHeap, lastHeap)
	}
	tick := time.NewTicker(2 * time.Second)
	end := time.NewTimer(window)
	for measuring := true; measuring; {
		select {
		case <-tick.C:
			sample()
		case <-end.C:
			measuring = false
		}
	}
	tick.Stop()
	rec.setPhase(3)
	wall := time.Since(w0)
	user1, sys1 := rusage(t)
	timerLate, controlMax := control()
	backend1 := procCPU(backendPID)
	load1, pressure1 := loadAverage(), cpuPressure()
	sample()
	if stopProfile != nil {
		stopProfile()
	}
	goroutines := runtime.NumGoroutine()

	rec.mu.Lock()
	late, duration := slices.Clone(rec.late), slices.Clone(rec.duration)
	// Per interval, from late in the order the probes came.
	slotLate := make([][2]time.Duration, len(rec.slots))
	for i, sl := range rec.slots {
		if sl.probes == 0 {
			continue
		}
		part := slices.Clone(late[sl.first:min(len(late), sl.first+sl.probes)])
		slices.Sort(part)
		slotLate[i] = [2]time.Duration{quantile(part, 0.99), quantile(part, 1)}
	}
	probes, failures, dropped, failure := rec.probes, rec.failures, rec.dropped, rec.failure
	slots := slices.Clone(rec.slots)
	burst, binMean := burstiness(rec.bins)
	var kinds []string
	for k, v := range rec.kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
	}
	firstResult, lastResult := rec.firstResult.Sub(t0), rec.lastResult.Sub(t0)
	firstDuration := slices.Clone(rec.firstDuration)
	rec.mu.Unlock()
	slices.Sort(firstDuration)
	slices.Sort(late)
	slices.Sort(duration)
	slices.Sort(kinds)
	user, sys := (user1-user0).Seconds()/wall.Seconds(), (sys1-sys0).Seconds()/wall.Seconds()
	cpu := user + sys
	perProbe := func(share float64) float64 { return share * wall.Seconds() / float64(max(1, probes[2])) * 1e6 }
	failed := failures[0] + failures[1] + failures[2]

	t.Logf("| scale: %d endpoints, HTTP check every %s, window %s, %d backend addresses", n, scaleInterval, wall.Round(time.Second), len(backends))
	t.Logf("| load average         %s at start, %s at end", load0, load1)
	if pressure0 >= 0 && pressure1 >= pressure0 {
		t.Logf("| CPU pressure         %8.0f %%    of the window, some runnable task on the machine waited for a CPU", 100*(pressure1-pressure0).Seconds()/wall.Seconds())
	}
	t.Logf("| parse alone          %8.3f s", parseTime.Seconds())
	t.Logf("| caddy.Start          %8.3f s    target <= %s; first round results from %.3f s to %.3f s", startTime.Seconds(), scaleMaxSetup, firstResult.Seconds(), lastResult.Seconds())
	t.Logf("| first answer         %8.3f s    target <= %s", firstAnswer.Seconds(), scaleMaxFirstAnswer)
	t.Logf("| first round probes   %8.3f ms   median duration; p99 %.3f ms, max %.3f ms", millis(quantile(firstDuration, 0.5)), millis(quantile(firstDuration, 0.99)), millis(quantile(firstDuration, 1)))
	t.Logf("| CPU                  %8.1f %%    of one core, target <= %.0f %%; user %.1f %%, system %.1f %%", 100*cpu, 100*scaleMaxCPU, 100*user, 100*sys)
	t.Logf("| CPU per probe        %8.0f µs   user %.0f µs, system %.0f µs", perProbe(cpu), perProbe(user), perProbe(sys))
	if backend1 >= backend0 && backend0 >= 0 {
		b := (backend1 - backend0).Seconds() / wall.Seconds()
		t.Logf("| backend process CPU  %8.1f %%    of one core, not counted above (%.0f µs per probe)", 100*b, perProbe(b))
	}
	t.Logf("| RSS max / end        %8.1f / %.1f MB, target <= %d MB", mb(maxRSS), mb(lastRSS), scaleMaxRSS>>20)
	t.Logf("| Go heap in use       %8.1f / %.1f MB (max / end)", mb(maxHeap), mb(lastHeap))
	t.Logf("| goroutines at end    %8d", goroutines)
	t.Logf("| probes in window     %8d    %.0f/s", probes[2], float64(probes[2])/wall.Seconds())
	t.Logf("| busiest %s      %8.2f ×    the mean of %.1f probes, target <= %.2f ×", scaleBurstBin, burst, binMean, scaleMaxBurst)
	t.Logf("| lateness median      %8.3f ms", millis(quantile(late, 0.5)))
	t.Logf("| lateness p99         %8.3f ms   target <= %s", millis(quantile(late, 0.99)), scaleMaxLate)
	t.Logf("| lateness max         %8.3f ms", millis(quantile(late, 1)))
	t.Logf("| timer control        %8.3f ms   median lateness of a 100 ms timer in this process; p99 %.3f ms, max %.3f ms", millis(quantile(timerLate, 0.5)), millis(quantile(timerLate, 0.99)), millis(quantile(timerLate, 1)))
	t.Logf("| probe duration       %8.3f ms   median; p99 %.3f ms, max %.3f ms", millis(quantile(duration, 0.5)), millis(quantile(duration, 0.99)), millis(quantile(duration, 1)))
	t.Logf("| failed probes        %8d    first round %d, warm-up %d, window %d %v", failed, failures[0], failures[1], failures[2], kinds)
	t.Logf("| per interval         probes, failed, lateness p99 and max, timer control max")
	for i, sl := range slots {
		if sl.probes > 0 {
			t.Logf("|   +%3ds             %6d %4d %9.3f ms %9.3f ms %9.3f ms", i*int(scaleInterval/time.Second), sl.probes, sl.failures,
				millis(slotLate[i][0]), millis(slotLate[i][1]), millis(controlMax[i]))
		}
	}

	if failed > 0 {
		t.Errorf("Expected every probe of a healthy backend to succeed, got %d failures, the first: %s", failed, failure.Reason())
	}
	if dropped > 0 {
		t.Errorf("Expected at most %d probes in the window, got %d more", cap(rec.late), dropped)
	}
	// Every endpoint is due once per interval; far fewer probes means the
	// scheduler fell behind and detection takes longer than configured.
	if want := int(float64(n) * wall.Seconds() / scaleInterval.Seconds() * 0.95); probes[2] < want {
		t.Errorf("Expected at least %d probes in %s, got %d", want, wall.Round(time.Second), probes[2])
	}
	if firstAnswer > scaleMaxFirstAnswer {
		t.Errorf("Expected the first answer within %s of the start, got %s", scaleMaxFirstAnswer, firstAnswer)
	}
	if burst > scaleMaxBurst {
		t.Errorf("Expected the busiest %s to hold at most %.2f × the mean number of probes, got %.2f ×", scaleBurstBin, scaleMaxBurst, burst)
	}
	if startTime > scaleMaxSetup {
		t.Errorf("Expected caddy.Start with %d stanzas within %s, got %s", n, scaleMaxSetup, startTime)
	}
	if cpu > scaleMaxCPU {
		t.Errorf("Expected at most %.0f %% of one core, got %.1f %%", 100*scaleMaxCPU, 100*cpu)
	}
	if maxRSS > scaleMaxRSS {
		t.Errorf("Expected at most %d MB resident, got %.1f MB", scaleMaxRSS>>20, mb(maxRSS))
	}
	if p99 := quantile(late, 0.99); p99 > scaleMaxLate {
		t.Errorf("Expected probes to start at most %s late at p99, got %s", scaleMaxLate, p99)
	}
}

// burstiness is the largest count of bins against their mean.
func burstiness(bins []int) (ratio, mean float64) {
	total, most := 0, 0
	for _, b := range bins {
		total += b
		most = max(most, b)
	}
	if total == 0 {
		return 0, 0
	}
	mean = float64(total) / float64(len(bins))
	return float64(most) / mean, mean
}

// startTimerControl measures how late a plain 100 ms timer fires in this
// process during the window: the lateness that the machine and the Go
// scheduler impose on any timer, against which the probes' lateness is read.
// It wakes the process rarely, so that its own cost stays out of the CPU
// figure.
// The returned function stops it and gives the sorted latenesses and the
// largest in each interval of the window.
func startTimerControl(window time.Duration, slots int) func() ([]time.Duration, []time.Duration) {
	const period = 100 * time.Millisecond
	late := make([]time.Duration, 0, int(window/period)+1)
	slotMax := make([]time.Duration, slots)
	stop, done := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		timer := time.NewTimer(period)
		defer timer.Stop()
		due := start.Add(period)
		for len(late) < cap(late) {
			select {
			case <-stop:
				return
			case <-timer.C:
				// Not the time received: the runtime sends the time the
				// timer was due, however late it runs.
				now := time.Now()
				l := now.Sub(due)
				late = append(late, l)
				if i := int(now.Sub(start) / scaleInterval); i < len(slotMax) {
					slotMax[i] = max(slotMax[i], l)
				}
				due = now.Add(period)
				timer.Reset(period)
			}
		}
	}()
	return func() ([]time.Duration, []time.Duration) {
		close(stop)
		<-done
		slices.Sort(late)
		return late, slotMax
	}
}

// quantile reads the q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// startScaleProfile profiles the CPU over the window; the returned function
// stops that and writes a heap profile.
func startScaleProfile(t *testing.T, dir string) func() {
	t.Helper()
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		t.Fatalf("Expected to create the CPU profile, got %v", err)
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		t.Fatalf("Expected to start the CPU profile, got %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		heap, err := os.Create(filepath.Join(dir, "heap.pprof"))
		if err != nil {
			t.Fatalf("Expected to create the heap profile, got %v", err)
		}
		defer heap.Close()
		if err := pprof.Lookup("heap").WriteTo(heap, 0); err != nil {
			t.Fatalf("Expected to write the heap profile, got %v", err)
		}
	}
}

// rusage is the CPU time the process has used so far, in user space and in
// the kernel.
func rusage(t *testing.T) (user, sys time.Duration) {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("Expected getrusage to work, got %v", err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// vmRSS reads the resident set size from /proc/self/status.
func vmRSS(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("Expected to read /proc/self/status, got %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("Expected VmRSS in kB, got %q", line)
			}
			return kb << 10
		}
	}
	t.Fatalf("Expected a VmRSS line in /proc/self/status")
	return 0
}

// procCPU reads the CPU time another process has used, from /proc/PID/stat,
// or -1 if it cannot.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces and parentheses;
	// the fields after it do not. utime and stime are the 14th and 15th
	// fields, in clock ticks of 1/100 s.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// cpuPressure is the machine's total time with some runnable task waiting
// for a CPU (Linux PSI), or -1 where the kernel does not report it.
func cpuPressure() time.Duration {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return time.Duration(us) * time.Microsecond
		}
	}
	return -1
}

// loadAverage is the 1, 5 and 15 minute load average, for the record: other
// processes on the machine change every figure here.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func mb(b uint64) float64            { return float64(b) / (1 << 20) }
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
