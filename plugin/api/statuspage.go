package api

import (
	"net/http"
	"slices"
	"time"
)

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	names := h.backend.Names()
	slices.Sort(names)
	list := make([]Name, 0, len(names))
	for _, n := range names {
		if v, ok := h.backend.Name(n); ok {
			list = append(list, v)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
	renderPage(w, list, time.Now())
}
