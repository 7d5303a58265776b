package tenantmap

import (
	"context"
	"errors"
	"hash/maphash"
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

// Registry caches mappings per (model, tenant). A hit is a probe of a
// lock-free open-addressing table (atomic slot loads, no lock) and no write
// to shared memory unless the entry's reference bit was clear, so reads
// scale across cores. Misses for the same key build once; the
// others wait for that build. The size is bounded: past the bound the
// CLOCK algorithm (a second-chance approximation of LRU) evicts entries not
// used since the hand last passed them.
type Registry struct {
	table atomic.Pointer[slotTable] // replaced whole when it grows; slots change in place under mu
	hits  stripedCounter

	mu       sync.Mutex
	ring     []*registryEntry
	bindings map[*binding]struct{} // every binding a key has named, for InvalidateTenant
	hand     int
	inflight map[registryKey]*buildCall
	max      int
	gen      uint64 // bumped by every invalidation of a model or of all; a build begun before one is not cached
	// tenantGen is bumped by InvalidateTenant, per hash bucket of tenant
	// ids: a build begun before its tenant's invalidation is not cached,
	// while other tenants' builds are (a migration invalidates tenant after
	// tenant while the program goes on serving).
	tenantGen [256]uint64

	misses, builds, evictions atomic.Uint64
	size                      atomic.Int64 // len(ring), for readers that take no lock

	build func(context.Context, registryKey) (*mapping, error)
}

func newRegistry(max int, build func(context.Context, registryKey) (*mapping, error)) *Registry {
	if max <= 0 {
		max = DefaultRegistrySize
	}
	r := &Registry{max: max, inflight: map[registryKey]*buildCall{}, bindings: map[*binding]struct{}{}, build: build}
	r.table.Store(newSlotTable(16))
	return r
}

// lookup returns the mapping for key, building it with build on a miss.
//
// A caller that holds a connection (noWait: it is inside a transaction)
// never waits for another goroutine's build of the same key: that build may
// need a connection from the pool the caller holds one of, and would then
// wait for the caller as the caller waits for it. Such a caller builds for
// itself, on its own connection, instead.
func (r *Registry) lookup(ctx context.Context, key registryKey, noWait bool) (*mapping, error) {
	if e := r.table.Load().find(key); e != nil {
		if !e.ref.Load() {
			e.ref.Store(true)
		}
		r.hits.add()
		return e.m, nil
	}
	return r.miss(ctx, key, noWait)
}

func (r *Registry) miss(ctx context.Context, key registryKey, noWait bool) (*mapping, error) {
	r.misses.Add(1)
	r.mu.Lock()
	if e := r.table.Load().find(key); e != nil { // built while we took the lock
		r.mu.Unlock()
		return e.m, nil
	}
	if c, ok := r.inflight[key]; ok {
		r.mu.Unlock()
		if noWait {
			m, err := r.build(ctx, key)
			r.builds.Add(1)
			return m, err
		}
		select {
		case <-c.done:
			if c.err == nil {
				return c.m, nil
			}
			// The build ran under another call's context (its deadline, its
			// transaction): its failure need not be ours. Build for ourselves.
			m, err := r.build(ctx, key)
			r.builds.Add(1)
			return m, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &buildCall{done: make(chan struct{})}
	r.inflight[key] = c
	bucket := tenantBucket(key.tenant)
	gen, tgen := r.gen, r.tenantGen[bucket]
	r.mu.Unlock()

	defer func() {
		// Also on a panic in build: waiters must not wait forever.
		r.mu.Lock()
		delete(r.inflight, key)
		if c.err == nil && c.m != nil && gen == r.gen && tgen == r.tenantGen[bucket] {
			r.insertLocked(&registryEntry{key: key, m: c.m})
		}
		r.mu.Unlock()
		if c.m == nil && c.err == nil {
			c.err = errBuildPanicked
		}
		close(c.done)
	}()
	c.m, c.err = r.build(ctx, key)
	r.builds.Add(1)
	return c.m, c.err
}

var errBuildPanicked = errors.New("tenantmap: building the mapping panicked")

func (r *Registry) insertLocked(e *registryEntry) {
	if len(r.ring) < r.max {
		e.pos = len(r.ring)
		r.ring = append(r.ring, e)
		r.size.Store(int64(len(r.ring)))
		r.storeLocked(e)
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
		r.table.Load().remove(old)
		r.evictions.Add(1)
		e.pos = r.hand
		r.ring[r.hand] = e
		r.hand++
		r.storeLocked(e)
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
	r.size.Store(int64(len(r.ring)))
	r.table.Load().remove(e)
}

// storeLocked puts e in the table, growing (and clearing tombstones) first
// when the table would pass half full.
func (r *Registry) storeLocked(e *registryEntry) {
	r.bindings[e.key.binding] = struct{}{}
	t := r.table.Load()
	if (t.used+1)*2 > len(t.slots) {
		n := 16
		for n < (len(r.ring)+1)*4 {
			n *= 2
		}
		nt := newSlotTable(n)
		for _, old := range r.ring {
			if old != e {
				nt.insert(old)
			}
		}
		r.table.Store(nt)
		t = nt
	}
	t.insert(e)
}

var hashSeed = maphash.MakeSeed()

func tenantBucket(id string) int { return int(maphash.String(hashSeed, id) & 255) }

func (k registryKey) hash() uint64 {
	return maphash.String(hashSeed, k.tenant) ^ k.binding.id*0x9e3779b97f4a7c15
}

// tombstone marks a slot whose entry was removed; probes pass over it.
var tombstone = &registryEntry{}

// slotTable is an open-addressing hash table with linear probing. Readers
// load slots atomically without a lock; writers hold Registry.mu. A table
// is never shrunk or rehashed in place: growing builds a new one, and a
// reader still on the old one at worst misses and takes the slow path.
type slotTable struct {
	slots []atomic.Pointer[registryEntry]
	mask  uint64
	used  int // live entries plus tombstones; guarded by Registry.mu
}

func newSlotTable(n int) *slotTable {
	return &slotTable{slots: make([]atomic.Pointer[registryEntry], n), mask: uint64(n - 1)}
}

func (t *slotTable) find(k registryKey) *registryEntry {
	for i := k.hash() & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		if e.key == k {
			return e
		}
	}
}

func (t *slotTable) insert(e *registryEntry) {
	for i := e.key.hash() & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i].Load() == nil {
			t.slots[i].Store(e)
			t.used++
			return
		}
	}
}

func (t *slotTable) remove(e *registryEntry) {
	for i := e.key.hash() & t.mask; ; i = (i + 1) & t.mask {
		switch t.slots[i].Load() {
		case nil:
			return
		case e:
			t.slots[i].Store(tombstone)
			return
		}
	}
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
//
// It costs a lookup per model, not a pass over the registry: a migration
// of 10,000 tenants invalidates each one as it goes.
func (r *Registry) InvalidateTenant(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tenantGen[tenantBucket(id)]++
	n := 0
	t := r.table.Load()
	for b := range r.bindings {
		if e := t.find(registryKey{binding: b, tenant: id}); e != nil {
			r.removeLocked(e)
			n++
		}
	}
	return n
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
	stripes [64]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (c *stripedCounter) add() {
	var marker byte
	// Stacks are at least 8 KiB apart; Fibonacci hashing spreads them.
	h := uint64(uintptr(unsafe.Pointer(&marker))>>13) * 0x9e3779b97f4a7c15
	c.stripes[h>>58].n.Add(1)
}

func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c.stripes {
		n += c.stripes[i].n.Load()
	}
	return n
}
