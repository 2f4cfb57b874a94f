package rados

import (
	"context"
	"errors"

	"github.com/gomsgr/msgr/config"
)

// errNoTransport: this build has no messenger/MonClient wiring yet.
var errNoTransport = errors.New("rados: Connect needs the msgr Messenger and the MonClient (package mon), not available in this build")

// dial connects to the cluster cfg describes.
func dial(ctx context.Context, cfg *config.Config) (Backend, error) {
	_ = ctx
	_ = cfg
	return nil, errNoTransport
}
