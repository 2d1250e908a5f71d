package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/app"
	"github.com/gofaxserver/gofaxserver/gofaxlib/config"
	"github.com/gofaxserver/gofaxserver/gofaxlib/postgres"
)

// migrate is "gofaxd migrate": it applies the schema migrations the
// database of [database] lacks (waiting for another host migrating it,
// until ctx ends) and reports the schema's version.
func migrate(ctx context.Context, cfgPath string, stdout io.Writer) error {
	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	if !cfg.Database.Enabled {
		return errors.New("migrate: " + cfgPath + " has no [database] section")
	}
	store, err := app.OpenStore(cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	applied, err := postgres.Migrate(ctx, store.DB(), store.Host())
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	st, err := postgres.CheckSchema(ctx, store.DB())
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema at version %d: nothing to do\n", st.Current)
	} else {
		fmt.Fprintf(stdout, "schema at version %d: applied %v\n", st.Current, applied)
	}
	if st.Newer() {
		fmt.Fprintf(stdout, "a newer gofaxserver migrated this database (this one knows version %d)\n", st.Latest)
	}
	return nil
}
