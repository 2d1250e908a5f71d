package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestMigrateCommand: "gofaxd migrate" creates the schema of [database],
// finds nothing to do the second time, and needs a [database] section.
func TestMigrateCommand(t *testing.T) {
	dsn := pgtest.NewDatabase(t, "")
	path := filepath.Join(t.TempDir(), "gofax.conf")
	if err := os.WriteFile(path, []byte("[database]\ndsn = \""+dsn+"\"\nhostname = migrate-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, m := range ms {
		versions = append(versions, strconv.Itoa(m.Version))
	}
	latest := len(ms)
	for i, want := range []string{
		fmt.Sprintf("schema at version %d: applied [%s]", latest, strings.Join(versions, " ")),
		fmt.Sprintf("schema at version %d: nothing to do", latest),
	} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-c", path, "migrate"}, &out, &bytes.Buffer{}); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("migrate #%d printed %q, want %q", i+1, out.String(), want)
		}
	}
	plain := filepath.Join(t.TempDir(), "gofax.conf")
	os.WriteFile(plain, []byte("[gofaxd]\n"), 0o600)
	if err := run(context.Background(), []string{"-c", plain, "migrate"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "no [database] section") {
		t.Errorf("migrate without [database]: %v", err)
	}
}
