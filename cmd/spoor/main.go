// Command spoor is a threat-hunting engine for Windows event logs and their
// JSON exports. See `spoor --help`.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spoor-hunt/spoor/internal/cli"
)

// Set at link time: go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = "dev"
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	env := cli.Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		LogLevel: level,
		Build:    cli.Build{Version: version, Commit: commit},
	}
	code := cli.Execute(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}
