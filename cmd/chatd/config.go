package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/chatd/store"
)

// loadConfig reads the optional file then applies flag overrides and
// validates the result.
func (o *options) loadConfig() (chatd.Config, error) {
	path, listen, peers, sets := o.configPath, o.listen, o.peers, o.sets
	var cfg chatd.Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if cfg, err = chatd.ParseConfig(path, data); err != nil {
			return cfg, err
		}
	}
	if len(listen) > 0 {
		cfg.Listen = listen
	}
	if len(peers) > 0 {
		cfg.Peers = peers
	}
	for _, set := range sets {
		if err := set(&cfg); err != nil {
			return cfg, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

func storeKind(dsn string) string {
	if dsn == "" || strings.HasPrefix(dsn, "sqlite:") {
		return "sqlite"
	}
	return "mysql"
}

// printHash reads one password (the first line of r) and prints its
// argon2id PHC hash. An empty password is refused: it would let anyone OPER.
func printHash(r io.Reader, w io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return fmt.Errorf("-hash-password: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return errors.New("-hash-password: no password on stdin")
	}
	h, err := store.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, h)
	return nil
}
