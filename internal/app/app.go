// Package app is what vultr-image-action does, whoever asks: each use case
// (build, validate, inspect, console, cleanup, sweep, and the action's post
// step) takes a typed request and returns a report. Package cli only turns
// flags and action inputs into requests, and reports into output and exit
// codes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// World is the process's outside world, injected so that tests run every
// use case in parallel without touching the real environment.
type World struct {
	Args    []string // os.Args: the command line's (no use case reads it)
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
	Environ func() []string
	// Getwd returns the working directory.
	Getwd func() (string, error)
	// Stop ends when the user insists (a second interrupt): cleanup stops
	// waiting and says what is left. Nil means never.
	Stop context.Context
	// IPv6Reachable reports whether this host can reach IPv6 addresses;
	// nil means remote.IPv6Reachable, the real probe.
	IPv6Reachable func() bool
	// Version is the tool's version: the API's user agent, provenance.
	Version string
}

// UsageError is an invalid request, input or template: nothing was
// created in the cloud.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf is a *UsageError with a formatted message.
func UsageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ShownError is an error a use case has already shown in full (with every
// diagnostic and its position); the caller needs only its kind.
type ShownError struct{ Err error }

func (e *ShownError) Error() string { return e.Err.Error() }
func (e *ShownError) Unwrap() error { return e.Err }

// Shown reports whether err was already shown.
func Shown(err error) bool {
	var s *ShownError
	return errors.As(err, &s)
}
