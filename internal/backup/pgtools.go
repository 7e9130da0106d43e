package backup

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pgTool runs one of the PostgreSQL client programs of binDir (pg_dump,
// pg_restore) against dbURL. The password, if any, goes through
// PGPASSWORD, never the command line (which other users can read); other
// PG* variables of the environment are dropped so they cannot redirect the
// program to another server.
func pgTool(ctx context.Context, binDir, program, dbURL string, args ...string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("%s: the database URL does not parse", program)
	}
	env := cleanEnv()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, program), append(args, "--no-password", "--dbname="+u.String())...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + " …"
		}
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s failed (%v): %s", program, err, msg)
	}
	return nil
}

// toolVersion returns `program --version` of binDir, e.g. "pg_dump (PostgreSQL) 15.14".
func toolVersion(ctx context.Context, binDir, program string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, program), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w (install the PostgreSQL client programs of the server's version)", filepath.Join(binDir, program), err)
	}
	return strings.TrimSpace(string(out)), nil
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
