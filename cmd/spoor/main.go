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
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		// The command stops, says how far it got and exits 130 (143 for
		// SIGTERM); a second signal ends the process at once.
		signal.Stop(sigs)
		cancel(&cli.SignalError{Signal: s})
	}()
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	env := cli.Env{
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		LogLevel: level,
		Build:    cli.Build{Version: version, Commit: commit},
		// Tuning the process is main's business: the GC of a hunt.
		OnHuntPhase: new(huntGC).phase,
		LimitMemory: limitMemory,
	}
	os.Exit(cli.Execute(ctx, env, os.Args[1:]))
}
