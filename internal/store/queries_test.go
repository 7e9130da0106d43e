package store

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestNamedQueries(t *testing.T) {
	t.Parallel()
	q, err := parseQueries(queryFS)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT organization_id, id, code, name, city, capacity, created_at, updated_at FROM venues WHERE organization_id = $1 AND id = $2"
	if got := q["GetVenue"]; got != want {
		t.Errorf("GetVenue = %q, want %q", got, want)
	}
	for name, text := range q {
		if strings.Contains(text, "${") || strings.Contains(text, "-- ") {
			t.Errorf("%s kept a fragment reference or a comment: %q", name, text)
		}
	}
	for desc, body := range map[string]string{
		"duplicate name":   "-- name: A\nSELECT 1\n-- name: A\nSELECT 2\n",
		"unknown fragment": "-- name: A\nSELECT ${cols} FROM t\n",
		"empty statement":  "-- name: A\n-- a comment only\n-- name: B\nSELECT 1\n",
	} {
		fsys := fstest.MapFS{"queries/x.sql": {Data: []byte(body)}}
		if _, err := parseQueries(fsys); err == nil {
			t.Errorf("%s: parsed without an error", desc)
		}
	}
}
