package tenantmap

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"
)

// DefaultRegistrySize is the number of mappings a Registry keeps unless
// Config.RegistrySize says otherwise.
const DefaultRegistrySize = 100_000

// RegistryStats are a Registry's counters since the DB was opened.
type RegistryStats struct {
	Hits      uint64 // lookups answered from the cache
	Misses    uint64 // lookups that found no usable mapping
	Builds    uint64 // mappings built (a miss that waited for another goroutine's build builds nothing)
	Evictions uint64 // mappings dropped to stay within the size bound
	Size      int    // mappings held now
}

type registryKey struct {
	binding *binding
	tenant  string
}

type registryEntry struct {
	key registryKey
	m   *mapping
	ref atomic.Bool // set on a hit; the clock hand clears it
	pos int         // index in ring, guarded by Registry.mu
}

type buildCall struct {
	done chan struct{}
	m    *mapping
	err  error
}

// Registry caches mappings per (model, tenant). A hit is one sync.Map load
// and no write to shared memory unless the entry's reference bit was clear,
// so reads scale across cores. Misses for the same key build once; the
// others wait for that build. The size is bounded: past the bound the
// CLOCK algorithm (a second-chance approximation of LRU) evicts entries not
// used since the hand last passed them.
type Registry struct {
	entries sync.Map // registryKey → *registryEntry
	hits    stripedCounter

	mu       sync.Mutex
	ring     []*registryEntry
	hand     int
	inflight map[registryKey]*buildCall
	max      int
	gen      uint64 // bumped by every invalidation; a build begun before one is not cached

	misses, builds, evictions atomic.Uint64

	build func(context.Context, registryKey) (*mapping, error)
}

func newRegistry(max int, build func(context.Context, registryKey) (*mapping, error)) *Registry {
	if max <= 0 {
		max = DefaultRegistrySize
	}
	return &Registry{max: max, inflight: map[registryKey]*buildCall{}, build: build}
}

// lookup returns the mapping for key, building it with build on a miss.
func (r *Registry) lookup(ctx context.Context, key registryKey) (*mapping, error) {
	if v, ok := r.entries.Load(key); ok {
		e := v.(*registryEntry)
		if !e.ref.Load() {
			e.ref.Store(true)
		}
		r.hits.add()
		return e.m, nil
	}
	return r.miss(ctx, key)
}

func (r *Registry) miss(ctx context.Context, key registryKey) (*mapping, error) {
	r.misses.Add(1)
	r.mu.Lock()
	if v, ok := r.entries.Load(key); ok { // built while we took the lock
		r.mu.Unlock()
		return v.(*registryEntry).m, nil
	}
	if c, ok := r.inflight[key]; ok {
		r.mu.Unlock()
		select {
		case <-c.done:
			return c.m, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &buildCall{done: make(chan struct{})}
	r.inflight[key] = c
	gen := r.gen
	r.mu.Unlock()

	c.m, c.err = r.build(ctx, key)
	r.builds.Add(1)

	r.mu.Lock()
	delete(r.inflight, key)
	if c.err == nil && gen == r.gen {
		r.insertLocked(&registryEntry{key: key, m: c.m})
	}
	r.mu.Unlock()
	close(c.done)
	return c.m, c.err
}

func (r *Registry) insertLocked(e *registryEntry) {
	if len(r.ring) < r.max {
		e.pos = len(r.ring)
		r.ring = append(r.ring, e)
		r.entries.Store(e.key, e)
		return
	}
	// CLOCK: give referenced entries a second chance, evict the first that
	// has none, and put the new entry in its slot.
	for {
		if r.hand >= len(r.ring) {
			r.hand = 0
		}
		old := r.ring[r.hand]
		if old.ref.Load() {
			old.ref.Store(false)
			r.hand++
			continue
		}
		r.entries.Delete(old.key)
		r.evictions.Add(1)
		e.pos = r.hand
		r.ring[r.hand] = e
		r.hand++
		r.entries.Store(e.key, e)
		return
	}
}

// removeLocked drops e from the ring and the map.
func (r *Registry) removeLocked(e *registryEntry) {
	last := len(r.ring) - 1
	moved := r.ring[last]
	r.ring[e.pos] = moved
	moved.pos = e.pos
	r.ring[last] = nil
	r.ring = r.ring[:last]
	r.entries.Delete(e.key)
}

// invalidate drops every mapping for which drop returns true. In-flight
// builds are not interrupted; a caller that must not see them invalidates
// after the change it made is visible (the build reads the catalog).
func (r *Registry) invalidate(drop func(registryKey) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	n := 0
	for i := 0; i < len(r.ring); {
		e := r.ring[i]
		if drop(e.key) {
			r.removeLocked(e)
			n++
			continue // the slot now holds another entry
		}
		i++
	}
	return n
}

// InvalidateTenant drops every mapping of one tenant, so the next call for
// it rebuilds from the catalog. It returns how many were dropped.
func (r *Registry) InvalidateTenant(id string) int {
	return r.invalidate(func(k registryKey) bool { return k.tenant == id })
}

// InvalidateModel drops every tenant's mapping of the model with this name.
func (r *Registry) InvalidateModel(name string) int {
	return r.invalidate(func(k registryKey) bool { return k.binding.model.name == name })
}

// InvalidateAll empties the registry.
func (r *Registry) InvalidateAll() int {
	return r.invalidate(func(registryKey) bool { return true })
}

// Stats returns the registry's counters.
func (r *Registry) Stats() RegistryStats {
	r.mu.Lock()
	size := len(r.ring)
	r.mu.Unlock()
	return RegistryStats{
		Hits:      r.hits.load(),
		Misses:    r.misses.Load(),
		Builds:    r.builds.Load(),
		Evictions: r.evictions.Load(),
		Size:      size,
	}
}

// stripedCounter is a counter that many goroutines increment without
// sharing a cache line: each goroutine picks a stripe from its stack
// address, which differs between goroutines and is stable while the stack
// does not move.
type stripedCounter struct {
	stripes [16]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (c *stripedCounter) add() {
	var marker byte
	h := uintptr(unsafe.Pointer(&marker)) >> 10
	h ^= h >> 7
	c.stripes[h%uintptr(len(c.stripes))].n.Add(1)
}

func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c.stripes {
		n += c.stripes[i].n.Load()
	}
	return n
}
