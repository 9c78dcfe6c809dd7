package failover

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startDaemon runs a real server from Debian (Prometheus, Alertmanager)
// listening on addr with its log in dir, waits until its /-/ready says so,
// and kills it when the test ends, showing its log if the test failed.
func startDaemon(t *testing.T, name, dir, addr string, cmd *exec.Cmd) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("Expected %s to start, got %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	// Registered after the caller's TempDir cleanup, so it runs before it.
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s log:\n%s", name, tailOf(string(out), 4000))
			}
		}
	})
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("Expected %s to keep running, it exited: %v\n%s", name, cmd.ProcessState, tailOf(string(out), 4000))
		case <-deadline:
			t.Fatalf("Expected %s to be ready within 20s", name)
		case <-tick.C:
			resp, err := client.Get("http://" + addr + "/-/ready")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
}
