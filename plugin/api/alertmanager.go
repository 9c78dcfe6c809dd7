package api

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// webhook is the part of Alertmanager's webhook payload (version 4) read here.
type webhook struct {
	Version string `json:"version"`
	Alerts  []struct {
		Status   string            `json:"status"`
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
	} `json:"alerts"`
}

// The labels that tie an alert to an endpoint.
const (
	endpointLabel = "failover_endpoint"
	nameLabel     = "failover_name"
)

// alerts reduces a webhook to the alerts about endpoints; the rest are
// reported as ignored.
func (w *webhook) alerts() (out []Alert, ignored []string) {
	for i, a := range w.Alerts {
		ep := strings.TrimSpace(a.Labels[endpointLabel])
		if ep == "" {
			ignored = append(ignored, fmt.Sprintf("alert %d (%s) has no %s label", i, a.Labels["alertname"], endpointLabel))
			continue
		}
		var firing bool
		switch a.Status {
		case "firing":
			firing = true
		case "resolved":
		default:
			ignored = append(ignored, fmt.Sprintf("alert %d (%s) has status %q; allowed are firing and resolved", i, a.Labels["alertname"], a.Status))
			continue
		}
		since := a.StartsAt
		if since.IsZero() {
			since = time.Now()
		}
		out = append(out, Alert{
			Firing: firing, Endpoint: ep, Name: strings.TrimSpace(a.Labels[nameLabel]),
			Alert: a.Labels["alertname"], Key: labelKey(a.Labels), Since: since,
		})
	}
	return out, ignored
}

// labelKey identifies an alert by its labels, as Alertmanager does.
func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}
