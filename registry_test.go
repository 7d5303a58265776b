package tenantmap

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantmap/tenantmap/dialect/sqlite"
)

func testRegistry(t *testing.T, size int, build func(context.Context, registryKey) (*mapping, error)) (*Registry, *binding) {
	t.Helper()
	m, err := compileModel(reflect.TypeFor[benchCase](), "")
	if err != nil {
		t.Fatal(err)
	}
	if build == nil {
		build = func(_ context.Context, k registryKey) (*mapping, error) {
			return buildMapping(sqlite.Dialect{}, k.binding.model, k.tenant, placement{kind: tablePerTenant, schema: "", table: k.tenant + "_case"}), nil
		}
	}
	return newRegistry(size, build), &binding{id: 7, model: m, strategy: TablePerTenant("{tenant}_case")}
}

// Many goroutines missing on one key at once cause exactly one build, and
// all of them get its result.
func TestRegistrySingleBuildUnderConcurrency(t *testing.T) {
	var builds atomic.Int32
	release := make(chan struct{})
	reg, b := testRegistry(t, 10, func(_ context.Context, k registryKey) (*mapping, error) {
		builds.Add(1)
		<-release
		return buildMapping(sqlite.Dialect{}, k.binding.model, k.tenant, placement{kind: tablePerTenant, schema: "", table: "x"}), nil
	})
	const n = 50
	results := make([]*mapping, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mp, err := reg.lookup(context.Background(), registryKey{binding: b, tenant: "acme"}, false)
			if err != nil {
				t.Error(err)
			}
			results[i] = mp
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all reach the miss path
	close(release)
	wg.Wait()
	if got := builds.Load(); got != 1 {
		t.Fatalf("%d builds for one key, want 1", got)
	}
	for i, mp := range results {
		if mp == nil || mp != results[0] {
			t.Fatalf("goroutine %d got a different mapping", i)
		}
	}
	if s := reg.Stats(); s.Builds != 1 || s.Misses != n || s.Size != 1 {
		t.Errorf("stats %+v", s)
	}
}

// A failed build is not cached, and waiters see its error.
func TestRegistryBuildErrorNotCached(t *testing.T) {
	fail := errors.New("no such tenant")
	calls := 0
	reg, b := testRegistry(t, 10, func(context.Context, registryKey) (*mapping, error) {
		calls++
		return nil, fail
	})
	for range 3 {
		if _, err := reg.lookup(context.Background(), registryKey{binding: b, tenant: "x"}, false); !errors.Is(err, fail) {
			t.Fatalf("want build error, got %v", err)
		}
	}
	if calls != 3 || reg.Stats().Size != 0 {
		t.Errorf("failed builds cached: %d calls, %+v", calls, reg.Stats())
	}
}

// The registry never holds more than its bound, evicts entries not used
// recently before ones that are, and keeps answering correctly.
func TestRegistryBoundAndEviction(t *testing.T) {
	reg, b := testRegistry(t, 100, nil)
	ctx := context.Background()
	key := func(i int) registryKey { return registryKey{binding: b, tenant: fmt.Sprintf("t%d", i)} }
	for i := range 1000 {
		mp, err := reg.lookup(ctx, key(i), false)
		if err != nil {
			t.Fatal(err)
		}
		if mp.tenant != key(i).tenant {
			t.Fatalf("lookup of %s returned %s's mapping", key(i).tenant, mp.tenant)
		}
		// Keep t0 hot: it must survive every sweep.
		if _, err := reg.lookup(ctx, key(0), false); err != nil {
			t.Fatal(err)
		}
		if s := reg.Stats(); s.Size > 100 {
			t.Fatalf("size %d past the bound", s.Size)
		}
	}
	s := reg.Stats()
	if s.Evictions != 900 {
		t.Errorf("evictions %d, want 900", s.Evictions)
	}
	before := s.Builds
	if _, err := reg.lookup(ctx, key(0), false); err != nil {
		t.Fatal(err)
	}
	if reg.Stats().Builds != before {
		t.Error("the hot entry was evicted")
	}
	// Every key still held finds its own mapping; the table stays consistent
	// after tombstones and growth.
	for _, e := range reg.ring {
		if got := reg.table.Load().find(e.key); got != e {
			t.Fatalf("ring entry %s not found in the table", e.key.tenant)
		}
	}
}

// A build that began before an invalidation is returned but not cached.
func TestRegistryInvalidationDuringBuild(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var reg *Registry
	reg, b := testRegistry(t, 10, func(_ context.Context, k registryKey) (*mapping, error) {
		close(started)
		<-release
		return buildMapping(sqlite.Dialect{}, k.binding.model, k.tenant, placement{kind: tablePerTenant, schema: "", table: "old"}), nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := reg.lookup(context.Background(), registryKey{binding: b, tenant: "acme"}, false); err != nil {
			t.Error(err)
		}
	}()
	<-started
	reg.InvalidateTenant("acme")
	close(release)
	<-done
	if reg.Stats().Size != 0 {
		t.Error("a mapping built from pre-invalidation state was cached")
	}
}

// Invalidating one tenant does not stop another tenant's build in flight
// from being cached (a migration invalidates tenant after tenant while the
// program serves the others), and InvalidateTenant drops every model's
// mapping of its tenant and no other tenant's.
func TestRegistryInvalidateTenantIsPerTenant(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var reg *Registry
	reg, b := testRegistry(t, 10, func(_ context.Context, k registryKey) (*mapping, error) {
		if k.tenant == "slow" {
			close(started)
			<-release
		}
		return buildMapping(sqlite.Dialect{}, k.binding.model, k.tenant, placement{kind: tablePerTenant, table: k.tenant + "_x"}), nil
	})
	b2 := &binding{id: 8, model: b.model, strategy: b.strategy}
	ctx := context.Background()
	// Tenants in other buckets than "slow": one sharing its bucket would
	// (harmlessly) keep its build from being cached.
	apart := func(prefix string, not ...string) string {
		for i := 0; ; i++ {
			id := fmt.Sprintf("%s%d", prefix, i)
			ok := true
			for _, n := range not {
				ok = ok && tenantBucket(id) != tenantBucket(n)
			}
			if ok {
				return id
			}
		}
	}
	acme := apart("acme", "slow")
	other := apart("other", "slow", acme)
	for _, k := range []registryKey{{b, acme}, {b2, acme}, {b, "globex"}} {
		if _, err := reg.lookup(ctx, k, false); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := reg.lookup(ctx, registryKey{binding: b, tenant: "slow"}, false); err != nil {
			t.Error(err)
		}
	}()
	<-started
	if n := reg.InvalidateTenant(acme); n != 2 {
		t.Errorf("InvalidateTenant(acme) dropped %d mappings, want its 2", n)
	}
	reg.InvalidateTenant(other)
	close(release)
	<-done
	if got := reg.Stats().Size; got != 2 {
		t.Errorf("registry holds %d mappings, want globex's and slow's", got)
	}
	if e := reg.table.Load().find(registryKey{b, "slow"}); e == nil {
		t.Error("another tenant's invalidation kept slow's build from being cached")
	}
	if e := reg.table.Load().find(registryKey{b, "globex"}); e == nil {
		t.Error("InvalidateTenant(acme) dropped globex's mapping")
	}
}

// Hits counted from many goroutines add up exactly.
func TestRegistryCountersConcurrent(t *testing.T) {
	reg, b := testRegistry(t, 10, nil)
	ctx := context.Background()
	k := registryKey{binding: b, tenant: "acme"}
	if _, err := reg.lookup(ctx, k, false); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if _, err := reg.lookup(ctx, k, false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s := reg.Stats(); s.Hits != 8000 || s.Misses != 1 || s.Builds != 1 {
		t.Errorf("stats %+v, want 8000 hits, 1 miss, 1 build", s)
	}
}

type failKey struct{}

// A waiter does not inherit the failure of a build that ran under another
// call's context (its deadline, its transaction): it builds for itself.
func TestRegistryWaiterRebuildsAfterOthersFailure(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	reg, b := testRegistry(t, 10, func(ctx context.Context, k registryKey) (*mapping, error) {
		if ctx.Value(failKey{}) != nil {
			once.Do(func() { close(started) })
			<-release
			return nil, context.Canceled
		}
		return buildMapping(sqlite.Dialect{}, k.binding.model, k.tenant, placement{kind: tablePerTenant, schema: "", table: "t"}), nil
	})
	key := registryKey{binding: b, tenant: "acme"}
	firstErr := make(chan error, 1)
	go func() {
		_, err := reg.lookup(context.WithValue(context.Background(), failKey{}, true), key, false)
		firstErr <- err
	}()
	<-started
	second := make(chan error, 1)
	var got *mapping
	go func() {
		var err error
		got, err = reg.lookup(context.Background(), key, false)
		second <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the second call wait on the first build
	close(release)
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first call: %v", err)
	}
	if err := <-second; err != nil || got == nil {
		t.Fatalf("the waiter inherited the other call's failure: %v", err)
	}
}

// A build that panics does not leave later lookups of its key waiting.
func TestRegistryBuildPanicReleasesWaiters(t *testing.T) {
	panics := true
	reg, b := testRegistry(t, 10, func(_ context.Context, k registryKey) (*mapping, error) {
		if panics {
			panics = false
			panic("boom")
		}
		return buildMapping(sqlite.Dialect{}, k.binding.model, k.tenant, placement{kind: tablePerTenant, schema: "", table: "t"}), nil
	})
	key := registryKey{binding: b, tenant: "acme"}
	func() {
		defer func() { _ = recover() }()
		_, _ = reg.lookup(context.Background(), key, false)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := reg.lookup(ctx, key, false); err != nil {
		t.Fatalf("lookup after a panicked build: %v", err)
	}
}
