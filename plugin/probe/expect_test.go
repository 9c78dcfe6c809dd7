package probe

import (
	"slices"
	"strings"
	"testing"
)

func TestParseCodes(t *testing.T) {
	tests := []struct {
		words []string
		want  Codes
	}{
		{[]string{"200"}, Codes{{200, 200}}},
		{[]string{"200", "204"}, Codes{{200, 200}, {204, 204}}},
		{[]string{"300-302"}, Codes{{300, 302}}},
		{[]string{"200-299", "404"}, Codes{{200, 299}, {404, 404}}},
		{[]string{"100-599"}, Codes{{100, 599}}},
		{[]string{"301-301"}, Codes{{301, 301}}},
	}
	for _, tc := range tests {
		got, err := ParseCodes(tc.words)
		if err != nil {
			t.Errorf("Expected %v to parse, got %s", tc.words, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Expected %v, got %v", tc.want, got)
		}
		// The log and describe output write the codes back; they must read the same.
		again, err := ParseCodes(strings.Fields(got.String()))
		if err != nil || !slices.Equal(again, got) {
			t.Errorf("Expected %q to parse back to %v, got %v (%v)", got.String(), got, again, err)
		}
	}
}

func TestParseCodesErrors(t *testing.T) {
	tests := [][]string{
		nil,
		{},
		{"abc"},
		{"2xx"},
		{"99"},
		{"600"},
		{"0"},
		{"-200"},
		{"200-"},
		{"200-abc"},
		{"302-300"},
		{"200-299-300"},
		{"200", "bad"},
		{""},
	}
	for _, words := range tests {
		if codes, err := ParseCodes(words); err == nil {
			t.Errorf("Expected %q to fail, got %v", words, codes)
		}
	}
}

func TestCodesMatch(t *testing.T) {
	codes := Codes{{200, 200}, {204, 204}, {300, 302}}
	tests := []struct {
		status int
		want   bool
	}{
		{200, true},
		{201, false},
		{204, true},
		{299, false},
		{300, true},
		{301, true},
		{302, true},
		{303, false},
		{503, false},
	}
	for _, tc := range tests {
		if got := codes.Match(tc.status); got != tc.want {
			t.Errorf("Status %d: expected match %t, got %t", tc.status, tc.want, got)
		}
	}
	for _, status := range []int{200, 250, 299} {
		if !defaultCodes.Match(status) {
			t.Errorf("Expected the default to accept %d", status)
		}
	}
	for _, status := range []int{199, 300, 500} {
		if defaultCodes.Match(status) {
			t.Errorf("Expected the default to refuse %d", status)
		}
	}
}
