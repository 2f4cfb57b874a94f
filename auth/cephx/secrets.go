package cephx

import (
	"io"
	"sync"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// ServiceSecrets are the rotating secrets, per service and secret id, that
// tickets are encrypted with: a mon seals tickets with the current one, a
// service (an OSD) opens them with the one the ticket names. Safe for
// concurrent use.
type ServiceSecrets struct {
	mu      sync.RWMutex
	keys    map[uint32]map[uint64]auth.CryptoKey
	current map[uint32]uint64
}

// NewServiceSecrets returns an empty set.
func NewServiceSecrets() *ServiceSecrets {
	return &ServiceSecrets{keys: map[uint32]map[uint64]auth.CryptoKey{}, current: map[uint32]uint64{}}
}

// GenerateServiceSecrets returns a set with one fresh secret (id 1) for each
// service.
func GenerateServiceSecrets(rand io.Reader, now time.Time, services ...uint32) (*ServiceSecrets, error) {
	s := NewServiceSecrets()
	for _, svc := range services {
		k, err := auth.NewAESKey(rand, encoding.UTimeOf(now))
		if err != nil {
			return nil, err
		}
		s.Add(svc, 1, k)
	}
	return s, nil
}

// Add stores a secret; the highest id of a service is its current one.
func (s *ServiceSecrets) Add(service uint32, id uint64, key auth.CryptoKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[service] == nil {
		s.keys[service] = map[uint64]auth.CryptoKey{}
	}
	s.keys[service][id] = key
	if cur, ok := s.current[service]; !ok || id > cur {
		s.current[service] = id
	}
}

// Current returns the secret new tickets for service are sealed with.
func (s *ServiceSecrets) Current(service uint32) (uint64, auth.CryptoKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.current[service]
	if !ok {
		return 0, auth.CryptoKey{}, false
	}
	return id, s.keys[service][id], true
}

// Get returns secret id of service.
func (s *ServiceSecrets) Get(service uint32, id uint64) (auth.CryptoKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[service][id]
	return k, ok
}
