package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxWeight is the largest weight a response can report.
const MaxWeight = 65535

// fromHeader reads the weight of a response whose status matched.
func (s WeightSource) fromHeader(h http.Header) (uint32, string) {
	values := h.Values(s.Header)
	if len(values) == 0 {
		return 0, fmt.Sprintf("the response has no %s header", s.Header)
	}
	w, problem := parseWeight(values[0])
	if problem != "" {
		return 0, "header " + s.Header + " " + problem
	}
	return w, ""
}

// fromBody reads the weight from the start of a body as readHead read it;
// readErr is how that read ended, nil at the body's end or its first line,
// and reason turns it into words.
func fromBody(head []byte, readErr error, reason func(error) string) (uint32, string) {
	line, _, complete := bytes.Cut(head, []byte("\n"))
	if !complete {
		switch {
		case len(head) >= MaxBody:
			return 0, fmt.Sprintf("the body's first line runs past %d KiB", MaxBody>>10)
		case errors.Is(readErr, io.ErrUnexpectedEOF):
			// What came may be the start of a longer number.
			return 0, "the body ended early, before the end of its first line"
		case readErr != nil:
			return 0, "reading the body's first line: " + reason(readErr)
		case len(head) == 0:
			return 0, "the body is empty"
		}
	}
	w, problem := parseWeight(string(line))
	if problem != "" {
		return 0, "the body's first line " + problem
	}
	return w, ""
}

// parseWeight reads a whole number from 0 to MaxWeight with spaces around
// it. Its problem text completes a sentence whose subject names the source,
// and quotes what it saw, cut short: a body can be anything.
func parseWeight(s string) (w uint32, problem string) {
	s = strings.Trim(s, " \t\r")
	if s == "" {
		return 0, "is empty"
	}
	n, err := strconv.ParseUint(s, 10, 16)
	switch {
	case err == nil:
		return uint32(n), ""
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Sprintf("holds %s, more than the largest weight, %d", quoteShort(s), MaxWeight)
	case s[0] == '-' && isDigits(s[1:]) && strings.Trim(s[1:], "0") != "":
		return 0, fmt.Sprintf("holds %s, a negative number; weights run from 0 to %d", quoteShort(s), MaxWeight)
	}
	return 0, fmt.Sprintf("holds %s, not a whole number from 0 to %d", quoteShort(s), MaxWeight)
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// quoteLimit is how many bytes of a bad weight a problem text quotes.
const quoteLimit = 40

// quoteShort quotes s, cut at a character boundary after at most quoteLimit
// bytes, so that a log line stays a line however long the garbage.
func quoteShort(s string) string {
	if len(s) <= quoteLimit {
		return strconv.Quote(s)
	}
	cut := quoteLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
