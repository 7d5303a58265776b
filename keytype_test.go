package tenantmap_test

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/tenantmap/tenantmap"
)

// ktCode is a model whose key is a string the caller sets.
type ktCode struct {
	Code string `tm:",pk"`
	Name string
}

// ktToken is a model whose key is a UUID.
type ktToken struct {
	ID   string `tm:",pk,type:uuid"`
	Note string
}

// TestKeyTypeChecked is item 6 of issue 12: MariaDB cast the string
// "1 OR 1=1" to 1, so Delete(ctx, "1 OR 1=1") on an integer key deleted
// row 1. Get and Delete now check the key's Go type against the model's
// key on every database and refuse a mismatch before any SQL.
func TestKeyTypeChecked(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, notes := isoRegister(t, b)
		codes, err := tenantmap.Register[ktCode](db, b.strategy("{tenant}_code"), tenantmap.ModelName("code"))
		if err != nil {
			t.Fatal(err)
		}
		tokens, err := tenantmap.Register[ktToken](db, b.strategy("{tenant}_token"), tenantmap.ModelName("token"))
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "ka")
		ctx := tctx("ka")
		var ids []int64
		for range 3 {
			n := &isoNote{Owner: "ka", Body: "x"}
			if err := notes.Insert(ctx, n); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, n.ID)
		}
		if err := codes.Insert(ctx, &ktCode{Code: "1", Name: "one"}); err != nil {
			t.Fatal(err)
		}
		const uuid = "0b5f5d3e-6a39-4c1e-9a51-2f4a0c1b7e10"
		if err := tokens.Insert(ctx, &ktToken{ID: uuid, Note: "t"}); err != nil {
			t.Fatal(err)
		}

		for _, key := range []any{"1 OR 1=1", "1", strconv.FormatInt(ids[0], 10), 1.0, float64(ids[0]), true, []byte("1"), nil, uint64(math.MaxUint64), &ids[0]} {
			if err := notes.Delete(ctx, key); !errors.Is(err, tenantmap.ErrInvalidKey) {
				t.Errorf("notes.Delete(%T %#v) = %v, want ErrInvalidKey", key, key, err)
			}
			if _, err := notes.Get(ctx, key); !errors.Is(err, tenantmap.ErrInvalidKey) {
				t.Errorf("notes.Get(%T %#v) = %v, want ErrInvalidKey", key, key, err)
			}
		}
		if n, err := notes.Count(ctx, tenantmap.Query{}); err != nil || n != 3 {
			t.Fatalf("after refused deletes: %d notes, %v; want all 3", n, err)
		}
		// Integers of any Go size are one key.
		for _, key := range []any{ids[0], int(ids[0]), int32(ids[0]), uint16(ids[0]), uint64(ids[0])} {
			if got, err := notes.Get(ctx, key); err != nil || got.ID != ids[0] {
				t.Errorf("notes.Get(%T %v) = %v, %v", key, key, got, err)
			}
		}
		if err := notes.Delete(ctx, uint32(ids[1])); err != nil {
			t.Errorf("notes.Delete(uint32): %v", err)
		}

		for _, key := range []any{1, int64(1), 1.0, nil} {
			if _, err := codes.Get(ctx, key); !errors.Is(err, tenantmap.ErrInvalidKey) {
				t.Errorf("codes.Get(%T %v) = %v, want ErrInvalidKey", key, key, err)
			}
			if err := codes.Delete(ctx, key); !errors.Is(err, tenantmap.ErrInvalidKey) {
				t.Errorf("codes.Delete(%T %v) = %v, want ErrInvalidKey", key, key, err)
			}
		}
		if got, err := codes.Get(ctx, "1"); err != nil || got.Name != "one" {
			t.Errorf(`codes.Get("1") = %v, %v`, got, err)
		}

		for _, key := range []any{"1 OR 1=1", "x", uuid + "0", 7} {
			if _, err := tokens.Get(ctx, key); !errors.Is(err, tenantmap.ErrInvalidKey) {
				t.Errorf("tokens.Get(%T %v) = %v, want ErrInvalidKey", key, key, err)
			}
			if err := tokens.Delete(ctx, key); !errors.Is(err, tenantmap.ErrInvalidKey) {
				t.Errorf("tokens.Delete(%T %v) = %v, want ErrInvalidKey", key, key, err)
			}
		}
		if got, err := tokens.Get(ctx, uuid); err != nil || got.Note != "t" {
			t.Errorf("tokens.Get(uuid) = %v, %v", got, err)
		}
	})
}
