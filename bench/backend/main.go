// Command backend is the health-check target of bench/dnsperf.sh: it answers
// every request with 200 and "ok" and closes the connection, as the failover prober
// expects of a healthy endpoint. It is a compiled server rather than a script
// so that ten thousand probes per interval measure the prober, not the target.
//
//	go run ./bench/backend -listen 127.0.1.1:18080,127.0.1.2:18080
//
// It listens on several addresses because one address cannot take a thousand
// new connections a second from one client address: the server closes first,
// so each connection leaves a TIME_WAIT entry on the server side for a minute,
// which the client's port choice does not see, and a new connection from a
// port still in it stalls for a SYN retransmission. Real endpoints have
// addresses of their own.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "comma-separated addresses to serve on")
	flag.Parse()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			// A body, so that a check with "body ok" passes too.
			io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	// The prober opens a fresh connection per probe; keep-alive off mirrors
	// that from this side, so no idle connections pile up.
	srv.SetKeepAlivesEnabled(false)
	errs := make(chan error)
	for addr := range strings.SplitSeq(*listen, ",") {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		go func() { errs <- srv.Serve(ln) }()
	}
	fmt.Fprintln(os.Stderr, "backend:", <-errs)
	os.Exit(1)
}
