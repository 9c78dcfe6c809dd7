package failover

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The custom server, built once per test run for the tests that run it as a
// process; the rest of the suite runs in-process.
var serverBin struct {
	once sync.Once
	dir  string
	path string
	out  []byte
	err  error
}

// serverBinary builds ./cmd/coredns on first use and returns its path.
func serverBinary(t *testing.T) string {
	t.Helper()
	serverBin.once.Do(func() {
		if serverBin.dir, serverBin.err = os.MkdirTemp("", "failover-coredns-"); serverBin.err != nil {
			return
		}
		serverBin.path = filepath.Join(serverBin.dir, "coredns")
		serverBin.out, serverBin.err = exec.Command("go", "build", "-o", serverBin.path, "./cmd/coredns").CombinedOutput()
	})
	if serverBin.err != nil {
		t.Fatalf("Expected the server to build, got %v:\n%s", serverBin.err, serverBin.out)
	}
	return serverBin.path
}

// removeServerBinary deletes the build, if any, once the tests are over.
func removeServerBinary() {
	if serverBin.dir != "" {
		os.RemoveAll(serverBin.dir)
	}
}
