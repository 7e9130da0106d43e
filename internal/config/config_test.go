package config

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := NewLoader(fs, func(k string) string { return env[k] }, AllVars...)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return l.Load()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./rampart-data" || !c.Embedded() || c.DBMaxConns != 10 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagOverridesEnv(t *testing.T) {
	c, err := load(t, map[string]string{"RAMPART_ADDR": "127.0.0.1:9000"}, "--addr", "127.0.0.1:0")
	if err != nil || c.Addr != "127.0.0.1:0" {
		t.Fatalf("got %q, %v", c.Addr, err)
	}
	c, err = load(t, map[string]string{"RAMPART_ADDR": "127.0.0.1:9000"})
	if err != nil || c.Addr != "127.0.0.1:9000" {
		t.Fatalf("env: got %q, %v", c.Addr, err)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RAMPART_ADDR": "8080"}, "RAMPART_ADDR (--addr)"},
		{map[string]string{"RAMPART_ADDR": "127.0.0.1:99999"}, "RAMPART_ADDR (--addr)"},
		{map[string]string{"RAMPART_ADDR": "example.com:80"}, "RAMPART_ADDR (--addr)"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL (--database-url)"},
		{map[string]string{"RAMPART_LOG_LEVEL": "loud"}, "RAMPART_LOG_LEVEL (--log-level)"},
		{map[string]string{"RAMPART_LOG_FORMAT": "xml"}, "RAMPART_LOG_FORMAT (--log-format)"},
		{map[string]string{"RAMPART_DB_MAX_CONNS": "0"}, "RAMPART_DB_MAX_CONNS (--db-max-conns)"},
		{map[string]string{"RAMPART_DB_MAX_CONNS": "ten"}, "RAMPART_DB_MAX_CONNS (--db-max-conns)"},
		{map[string]string{"RAMPART_PUBLIC_URL": "ftp://x"}, "RAMPART_PUBLIC_URL (--public-url)"},
		{map[string]string{"RAMPART_DATA_DIR": "  "}, "RAMPART_DATA_DIR (--data-dir)"},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "title"}, `RAMPART_AI_GUARD_THRESHOLDS (--ai-guard-thresholds): "title" is not field=N`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "=60"}, `RAMPART_AI_GUARD_THRESHOLDS (--ai-guard-thresholds): "=60" is not field=N`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "summary=60"}, `RAMPART_AI_GUARD_THRESHOLDS (--ai-guard-thresholds): "summary" is not a guarded field (title, client, brief, venue)`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "title=60,title=70"}, `"title" is given twice`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "title=0"}, `the threshold of "title", "0", must be a whole number from 1 to 100`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "brief=101"}, `the threshold of "brief", "101"`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "brief=high"}, `the threshold of "brief", "high"`},
		{map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": "title=60,,brief=50"}, `"" is not field=N`},
	}
	for _, tc := range cases {
		_, err := load(t, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: error %v, want it to name %s", tc.env, err, tc.want)
		}
	}
	// Several problems are reported together.
	_, err := load(t, map[string]string{"RAMPART_ADDR": "x", "RAMPART_LOG_FORMAT": "xml"})
	if err == nil || !strings.Contains(err.Error(), "RAMPART_ADDR") || !strings.Contains(err.Error(), "RAMPART_LOG_FORMAT") {
		t.Errorf("joined errors: %v", err)
	}
}

// TestREADMEDocumentsEveryVariable keeps the README's configuration table
// in step with the code.
func TestGuardFieldThresholds(t *testing.T) {
	c, err := load(t, nil)
	if err != nil || c.AI.GuardFields != nil {
		t.Fatalf("default: %v, %v; want no per-field thresholds", c.AI.GuardFields, err)
	}
	c, err = load(t, map[string]string{"RAMPART_AI_GUARD_THRESHOLDS": " title=60, brief = 45 "})
	if err != nil || len(c.AI.GuardFields) != 2 || c.AI.GuardFields["title"] != 60 || c.AI.GuardFields["brief"] != 45 {
		t.Fatalf("got %v, %v; want title=60, brief=45", c.AI.GuardFields, err)
	}
	c, err = load(t, nil, "--ai-guard-thresholds", "venue=30")
	if err != nil || c.AI.GuardFields["venue"] != 30 {
		t.Fatalf("flag: got %v, %v", c.AI.GuardFields, err)
	}
}

func TestREADMEDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range AllVars {
		row := "| `" + v.Env + "` | `--" + v.Flag + "` |"
		if !strings.Contains(string(b), row) {
			t.Errorf("README.md configuration table lacks the row for %s (--%s)", v.Env, v.Flag)
		}
	}
}

func TestHelpNeverShowsSecrets(t *testing.T) {
	var help strings.Builder
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(&help)
	env := map[string]string{"DATABASE_URL": "postgres://u:hunter2@db/x", "RAMPART_SESSION_KEYS": "k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=",
		"RAMPART_TOKEN_KEYS": "k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=", "RAMPART_SMTP_URL": "smtp://u:mailpass@h",
		"RAMPART_AUDIT_KEYS": "k1:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="}
	l := NewLoader(fs, func(k string) string { return env[k] }, AllVars...)
	fs.PrintDefaults()
	for _, secret := range []string{"hunter2", "c2VjcmV0", "mailpass"} {
		if strings.Contains(help.String(), secret) {
			t.Errorf("--help shows %q", secret)
		}
	}
	_ = fs.Parse(nil)
	c, err := l.Load()
	if err != nil || c.DatabaseURL != env["DATABASE_URL"] || c.SMTPURL != env["RAMPART_SMTP_URL"] {
		t.Fatalf("secret env values not used: %v %+v", err, c)
	}
}

func TestWarnings(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want int
	}{
		{Config{SMTPURL: "smtp://mail:587", Signup: SignupOperator}, 0},
		{Config{Signup: SignupOperator}, 1},
		{Config{SMTPURL: "smtp://mail:587", PublicURL: "http://rampart.example", Signup: SignupOpen}, 2},
		{Config{SMTPURL: "smtp://mail:587", PublicURL: "http://127.0.0.1:8080"}, 0},
		{Config{SMTPURL: "smtp://mail:587", PublicURL: "http://rampart.example", TLSCert: "c.pem"}, 0},
	} {
		if got := c.cfg.Warnings(); len(got) != c.want {
			t.Errorf("%+v: %q, want %d warnings", c.cfg, got, c.want)
		}
	}
}
