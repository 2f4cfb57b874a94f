package mon

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/config"
)

// Credentials builds the client's auth method from the configuration:
// cephx with the entity's key from its keyring (or `key`/`keyfile`), or
// none, in the order auth_client_required (or auth_supported) lists
// them, with the ms_mon_client_mode / ms_client_mode preferences.
func Credentials(cfg *config.Config) (auth.Credentials, error) {
	name, err := auth.ParseEntityName(cfg.Name)
	if err != nil {
		return nil, err
	}
	monModes, err := cfg.Modes("ms_mon_client_mode")
	if err != nil {
		return nil, err
	}
	modes, err := cfg.Modes("ms_client_mode")
	if err != nil {
		return nil, err
	}
	methods := cfg.AuthClientRequired()
	none := &auth.NoneSession{Name: name, MonModes: monModes, Modes: modes}
	for _, m := range methods {
		switch m {
		case "none":
			return none, nil
		case "cephx":
			key, err := loadKey(cfg, name)
			if err != nil {
				// As Ceph's AuthRegistry: without a key cephx is dropped
				// ("no keyring found ..., disabling cephx") and the next
				// method, if any, is used.
				if errors.Is(err, auth.ErrNoKey) && slices.Contains(methods, "none") {
					return none, nil
				}
				return nil, err
			}
			return cephx.NewSession(cephx.Config{Name: name, Key: key, MonModes: monModes, Modes: modes})
		}
	}
	return nil, fmt.Errorf("%w: no supported method in auth_client_required %q", ErrAuthFailed, methods)
}

func loadKey(cfg *config.Config, name auth.EntityName) (auth.CryptoKey, error) {
	if k, ok := cfg.Get("key"); ok && strings.TrimSpace(k) != "" {
		return auth.ParseKey(strings.TrimSpace(k))
	}
	if f, ok := cfg.Get("keyfile"); ok && strings.TrimSpace(f) != "" {
		b, err := os.ReadFile(strings.TrimSpace(f))
		if err != nil {
			return auth.CryptoKey{}, fmt.Errorf("mon: keyfile: %w", err)
		}
		return auth.ParseKeyFile(b)
	}
	path, ok := cfg.Keyring()
	if !ok {
		return auth.CryptoKey{}, fmt.Errorf("mon: %w: no keyring found for %s (keyring = %q)", auth.ErrNoKey, cfg.Name, cfg.KeyringPaths())
	}
	kr, err := auth.LoadKeyring(path)
	if err != nil {
		return auth.CryptoKey{}, err
	}
	k, err := kr.Key(name)
	if err != nil {
		return auth.CryptoKey{}, fmt.Errorf("mon: keyring %s: %w", path, err)
	}
	return k, nil
}
