package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/rampart-dev/rampart/internal/store"
)

// Format and Version identify a manifest; a newer version is refused with
// a message rather than half understood.
const (
	Format  = "rampart-backup"
	Version = 1
)

// The archive's entries.
const (
	ManifestEntry = "manifest.json"
	DumpEntry     = "rampart.dump"
)

// maxManifest bounds what is read of a manifest (a million tables would
// not reach it).
const maxManifest = 16 << 20

// Manifest is what a backup claims about itself and the database it holds.
type Manifest struct {
	Format         string            `json:"format"`
	Version        int               `json:"version"`
	TakenAt        time.Time         `json:"taken_at"` // the snapshot's time
	RampartVersion string            `json:"rampart_version"`
	Migration      string            `json:"migration"` // the newest applied migration's file name
	PgDumpVersion  string            `json:"pg_dump_version"`
	DumpSeconds    float64           `json:"dump_seconds"`
	Dump           DumpInfo          `json:"dump"`
	Facts          store.BackupFacts `json:"database"`
}

// DumpInfo describes the dump entry.
type DumpInfo struct {
	Entry  string `json:"entry"`
	Format string `json:"format"` // pg_dump --format
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// encode writes the manifest as indented JSON.
func (m Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parseManifest reads and checks a manifest.
func parseManifest(r io.Reader) (Manifest, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return Manifest{}, err
	}
	if len(b) > maxManifest {
		return Manifest{}, fmt.Errorf("%s is larger than %d bytes", ManifestEntry, maxManifest)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Manifest{}, fmt.Errorf("%s is not JSON: %v", ManifestEntry, err)
	}
	if head.Format != Format {
		return Manifest{}, fmt.Errorf("%s has format %q, want %q: not a rampart backup", ManifestEntry, head.Format, Format)
	}
	if head.Version != Version {
		return Manifest{}, fmt.Errorf("%s is version %d; this rampart reads version %d", ManifestEntry, head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %v", ManifestEntry, err)
	}
	switch {
	case m.TakenAt.IsZero():
		return m, fmt.Errorf("%s has no taken_at", ManifestEntry)
	case m.Dump.Entry != DumpEntry || m.Dump.Format != "custom":
		return m, fmt.Errorf("%s: the dump must be entry %q in pg_dump's custom format", ManifestEntry, DumpEntry)
	case len(m.Dump.SHA256) != 64 || m.Dump.Bytes <= 0:
		return m, fmt.Errorf("%s: the dump's size and SHA-256 are missing", ManifestEntry)
	case len(m.Facts.Tables) == 0 || m.Facts.SchemaVersion <= 0:
		return m, fmt.Errorf("%s: no tables or no schema version: not a backup of a migrated Rampart database", ManifestEntry)
	}
	return m, nil
}
