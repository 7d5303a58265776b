// Command quickstart tells tenantmap's story in a minute: one Case model,
// three tenants, a table of its own for each ({tenant}_case) in an embedded
// SQLite file, each tenant's rows kept apart, and the registry's counters.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tenantmap/tenantmap"
)

// Case is a support case. Declared once; mapped per tenant at run time.
type Case struct {
	ID        int64
	Title     string            `tm:",size:200"`
	Status    string            `tm:",index,default:open"`
	Priority  int               `tm:",index"`
	Tags      []string          // stored as JSON
	Assignee  *string           // NULL when nobody has it
	CreatedAt time.Time         `tm:",default:now"`
	Extra     map[string]string `tm:",json"`
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "tenantmap-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.db")

	// The first start makes the catalog; Open alone never changes a database.
	db, err := tenantmap.OpenConfig(ctx, &tenantmap.Config{Driver: "sqlite", DSN: path, CreateCatalog: true})
	if err != nil {
		return err
	}
	defer db.Close()

	cases, err := tenantmap.Register[Case](db, tenantmap.TablePerTenant("{tenant}_case"))
	if err != nil {
		return err
	}
	fmt.Printf("database: %s (embedded SQLite)\n\n", path)

	tenants := []string{"acme", "globex", "initech"}
	for _, id := range tenants {
		if _, err := db.Tenants().Create(ctx, id); err != nil {
			return err
		}
		fmt.Printf("created tenant %-8s → table %s_case\n", id, id)
	}

	// Each tenant files its own cases. The tenant travels in the context.
	titles := map[string][]string{
		"acme":    {"Login fails", "Invoice PDF is blank", "Slow search"},
		"globex":  {"Export times out"},
		"initech": {"TPS report missing cover sheet", "Printer on fire"},
	}
	for _, id := range tenants {
		tctx := tenantmap.WithTenant(ctx, id)
		for i, title := range titles[id] {
			c := &Case{Title: title, Priority: i + 1, Tags: []string{"support"}}
			if err := cases.Insert(tctx, c); err != nil {
				return err
			}
		}
	}

	fmt.Println()
	for _, id := range tenants {
		tctx := tenantmap.WithTenant(ctx, id)
		open, err := cases.Find(tctx, tenantmap.Where("status = ?", "open").OrderBy("priority DESC"))
		if err != nil {
			return err
		}
		fmt.Printf("%s sees %d open case(s):\n", id, len(open))
		for _, c := range open {
			fmt.Printf("  #%d p%d %s\n", c.ID, c.Priority, c.Title)
		}
	}

	// Key 1 exists in every tenant's table, but each Get reads its own.
	fmt.Println()
	for _, id := range tenants {
		c, err := cases.Get(tenantmap.WithTenant(ctx, id), int64(1))
		if err != nil {
			return err
		}
		fmt.Printf("%s's case #1 is %q\n", id, c.Title)
	}
	_, err = cases.Get(tenantmap.WithTenant(ctx, "globex"), int64(3))
	fmt.Printf("globex asks for case #3 (acme has one): not found = %v\n", errors.Is(err, tenantmap.ErrNotFound))

	_, err = cases.Get(ctx, int64(1))
	fmt.Printf("a call without a tenant fails closed: %v\n", errors.Is(err, tenantmap.ErrNoTenant))

	_, err = cases.Get(tenantmap.WithTenant(ctx, "umbrella"), int64(1))
	fmt.Printf("a call for an unknown tenant: %v\n", errors.Is(err, tenantmap.ErrTenantNotFound))

	// Hot path: every call after the first per (model, tenant) is a registry hit.
	for i := 0; i < 1000; i++ {
		id := tenants[i%len(tenants)]
		if _, err := cases.Count(tenantmap.WithTenant(ctx, id), tenantmap.Query{}); err != nil {
			return err
		}
	}
	s := db.Registry().Stats()
	fmt.Printf("\nregistry: %d hits, %d misses, %d builds, %d evictions, %d mappings cached\n",
		s.Hits, s.Misses, s.Builds, s.Evictions, s.Size)
	return nil
}
