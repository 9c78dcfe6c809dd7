package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Kind names the outcome of one probe. The failure kinds are what an operator
// needs to tell apart at 3 a.m.: a dead process (refused), a hung one (timeout),
// a broken certificate (tls) or an unhappy application (status, body).
type Kind uint8

// The outcomes of a probe.
const (
	OK       Kind = iota
	Timeout       // no answer within the timeout
	Refused       // nothing listens on the port
	Reset         // the peer closed or reset the connection before answering
	TLS           // handshake or certificate verification failed
	Status        // HTTP status not in expect
	Body          // body does not contain the expected text
	DNS           // the check URL's host name did not resolve
	Protocol      // the peer answered something that is not HTTP
	Error         // anything else (bad route, no such address, ...)
	Inverted      // the check passed, and invert makes a pass a failure
)

var kindNames = [...]string{
	OK: "success", Timeout: "timeout", Refused: "refused", Reset: "reset", TLS: "tls",
	Status: "status", Body: "body", DNS: "dns", Protocol: "protocol", Error: "error",
	Inverted: "inverted",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every outcome, for metrics that want all label values up front.
func Kinds() []Kind {
	out := make([]Kind, len(kindNames))
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// Result is the outcome of one probe.
type Result struct {
	Kind     Kind
	Status   int           // HTTP status, when one was read
	Detail   string        // human-readable reason for a failure, or what an inverted success inverted
	Duration time.Duration // from dial to verdict
	RTT      time.Duration // of a success: from dial to the status line (HTTP) or the connection (TCP)

	// The weight a weight_from check's response reported. Only a success
	// reports one; WeightOK is false when it did not, and WeightProblem
	// then says why, if the response had something wrong where the weight
	// should be. A zero Result thus reports no weight rather than weight 0,
	// which would drain the endpoint.
	Weight        uint32 // 0 to 65535, when WeightOK
	WeightOK      bool
	WeightProblem string
}

// setWeight records what a weight_from check read: a weight, or the
// problem that kept it from one.
func (r *Result) setWeight(w uint32, problem string) {
	r.Weight, r.WeightOK, r.WeightProblem = w, problem == "", problem
}

// OK reports whether the probe succeeded.
func (r Result) OK() bool { return r.Kind == OK }

// Reason is the text a transition log line carries.
func (r Result) Reason() string {
	if r.Detail != "" {
		return r.Detail
	}
	return r.Kind.String()
}

// classify turns a transport error into a failure kind with a short reason.
// ctxErr is the probe context's error, which wins: a deadline that fired
// surfaces as many different errors further down.
func classify(err error, ctxErr error, timeout time.Duration) Result {
	if errors.Is(ctxErr, context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return Result{Kind: Timeout, Detail: fmt.Sprintf("timeout after %s", timeout)}
	}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Result{Kind: Refused, Detail: "connection refused"}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Result{Kind: Reset, Detail: "connection reset by peer"}
	case errors.As(err, &dnsErr):
		return Result{Kind: DNS, Detail: "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err}
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr),
		errors.As(err, &invalidErr), errors.As(err, &alert):
		return Result{Kind: TLS, Detail: "TLS: " + rootMessage(err)}
	case errors.As(err, &recErr):
		return Result{Kind: TLS, Detail: "TLS: peer does not speak TLS"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Result{Kind: Reset, Detail: "connection closed before a response"}
	}
	return Result{Kind: Error, Detail: rootMessage(err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	// url.Error's Timeout looks only one level down: check the deadline too.
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// rootMessage drops the wrapping around the system's or the TLS library's
// message: the log line already names the endpoint and the kind.
func rootMessage(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	// A wrapper that repeats what the kind already says.
	return strings.TrimPrefix(err.Error(), "tls: failed to verify certificate: ")
}
