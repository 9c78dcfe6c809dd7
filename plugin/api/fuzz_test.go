package api

import (
	"encoding/json"
	"testing"
)

// FuzzRequests: whatever body a client sends to a change, the API answers
// 200 or a 4xx with a JSON error, and never panics.
func FuzzRequests(f *testing.F) {
	f.Add(uint8(0), `{"state":"drain","reason":"deploy"}`)
	f.Add(uint8(1), `{"ttl":5,"for":"30m"}`)
	f.Add(uint8(2), `{"version":"4","alerts":[{"status":"firing","labels":{"failover_endpoint":"192.0.2.1"}}]}`)
	f.Add(uint8(2), `{"version":"4","alerts":[null,{"labels":null},{"status":"resolved","startsAt":"x"}]}`)
	f.Add(uint8(0), `{"state":"up"}{`)
	f.Add(uint8(1), `[1,2,3]`)
	f.Add(uint8(3), ``)
	f.Add(uint8(3), " \r\n")
	f.Add(uint8(3), `{"reason":"primary fixed, deploy 42"}`)
	f.Add(uint8(3), `{"reason":"a"} {"reason":"b"}`)
	f.Add(uint8(3), `null`)
	paths := []string{"/v1/names/www.example.org/endpoints/192.0.2.10/override", "/v1/names/www.example.org/ttl", "/v1/alertmanager",
		"/v1/names/www.example.org/failback"}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		h := NewHandler(&recordingBackend{})
		method := "PUT"
		if which%4 >= 2 {
			method = "POST"
		}
		w := serve(h, method, paths[which%4], "127.0.0.1:1", "", body)
		if w.Code == 200 {
			return
		}
		var e Error
		if w.Code/100 != 4 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Fatalf("Expected 200 or a 4xx with a JSON error, got %d: %s", w.Code, w.Body)
		}
	})
}
