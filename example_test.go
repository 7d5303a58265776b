package tenantmap_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenantmap/tenantmap"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tenantmap-example-")
	defer os.RemoveAll(dir)

	db, err := tenantmap.Open(ctx, "sqlite:"+filepath.Join(dir, "app.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	type Ticket struct {
		ID     int64
		Title  string
		Status string `tm:",index,default:open"`
	}
	tickets, err := tenantmap.Register[Ticket](db, tenantmap.TablePerTenant("{tenant}_ticket"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range []string{"acme", "globex"} {
		if _, err := db.Tenants().Create(ctx, id); err != nil {
			fmt.Println(err)
			return
		}
	}

	acme := tenantmap.WithTenant(ctx, "acme")
	_ = tickets.Insert(acme, &Ticket{Title: "Login fails"})
	_ = tickets.Insert(acme, &Ticket{Title: "Slow search"})

	globex := tenantmap.WithTenant(ctx, "globex")
	_ = tickets.Insert(globex, &Ticket{Title: "Export times out"})

	open, _ := tickets.Find(acme, tenantmap.Where("status = ?", "open").OrderBy("title"))
	for _, t := range open {
		fmt.Println("acme:", t.ID, t.Title)
	}
	n, _ := tickets.Count(globex, tenantmap.Query{})
	fmt.Println("globex has", n)

	_, err = tickets.Get(ctx, int64(1))
	fmt.Println(errors.Is(err, tenantmap.ErrNoTenant))
	// Output:
	// acme: 1 Login fails
	// acme: 2 Slow search
	// globex has 1
	// true
}
