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

	db, err := tenantmap.OpenConfig(ctx, &tenantmap.Config{Driver: "sqlite", DSN: filepath.Join(dir, "app.db"), CreateCatalog: true})
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

// ExampleDB_Migrate shows a release adding a column to a model whose
// tenants already exist: the struct gains the field, a migration says how
// to get there, and Migrate brings every tenant to it.
func ExampleDB_Migrate() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tenantmap-example-")
	defer os.RemoveAll(dir)
	url := "sqlite:" + filepath.Join(dir, "app.db")
	cfg, _ := tenantmap.ParseConfig(url)
	cfg.CreateCatalog = true // the first start makes the catalog

	// Release 1: tickets have a title.
	type TicketV1 struct {
		ID    int64
		Title string
	}
	v1, _ := tenantmap.OpenConfig(ctx, cfg)
	tickets1, _ := tenantmap.Register[TicketV1](v1, tenantmap.TablePerTenant("{tenant}_ticket"), tenantmap.ModelName("ticket"))
	for _, id := range []string{"acme", "globex"} {
		_, _ = v1.Tenants().Create(ctx, id)
		_ = tickets1.Insert(tenantmap.WithTenant(ctx, id), &TicketV1{Title: "Login fails"})
	}
	v1.Close()

	// Release 2: tickets have a priority too.
	type Ticket struct {
		ID       int64
		Title    string
		Priority int `tm:",index,default:3"`
	}
	db, _ := tenantmap.Open(ctx, url)
	defer db.Close()
	tickets, _ := tenantmap.Register[Ticket](db, tenantmap.TablePerTenant("{tenant}_ticket"), tenantmap.ModelName("ticket"))
	err := db.SetMigrations(tenantmap.Migration{Version: 1, Name: "ticket priority", Steps: []tenantmap.Step{
		tenantmap.AddColumn("ticket", tenantmap.Column{Name: "priority"}), // as the struct declares it
		tenantmap.AddIndex("ticket", "priority", "priority"),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := db.Migrate(ctx, tenantmap.MigrateOptions{Parallel: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("migrated", rep.Count(tenantmap.ResultMigrated), "tenants to version", rep.Target)

	t, _ := tickets.Get(tenantmap.WithTenant(ctx, "acme"), int64(1))
	fmt.Println(t.Title, t.Priority)

	// A tenant created now is at the latest version from the start.
	newco, _ := db.Tenants().Create(ctx, "newco")
	fmt.Println("newco at version", newco.MigrationVersion)

	rep, _ = db.Migrate(ctx, tenantmap.MigrateOptions{})
	fmt.Println("nothing left:", len(rep.Tenants) == 0)
	// Output:
	// migrated 2 tenants to version 1
	// Login fails 3
	// newco at version 1
	// nothing left: true
}

// A model defined at run time from a YAML document, and a custom field
// one tenant adds to it.
func ExampleNewModel() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "tenantmap-example-")
	defer os.RemoveAll(dir)
	db, err := tenantmap.OpenConfig(ctx, &tenantmap.Config{Driver: "sqlite", DSN: filepath.Join(dir, "app.db"), CreateCatalog: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	doc, err := tenantmap.ParseModelDoc([]byte(`
name: ticket
fields:
  - {name: id, type: int64}
  - {name: title, type: string, size: 40}
  - {name: status, type: string, default: open, index: true}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := tenantmap.NewModel(*doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	tickets, err := tenantmap.RegisterModel(db, m, tenantmap.TablePerTenant("{tenant}_ticket"))
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
	// acme's tickets have an SLA in hours; globex's do not.
	if err := db.Tenants().AddField(ctx, "acme", "ticket", tenantmap.FieldDef{Name: "sla_hours", Type: "int32", Default: 24}); err != nil {
		fmt.Println(err)
		return
	}
	acme := tenantmap.WithTenant(ctx, "acme")
	r := tenantmap.NewRecord(map[string]any{"title": "Login fails", "sla_hours": 4})
	if err := tickets.Insert(acme, r); err != nil {
		fmt.Println(err)
		return
	}
	got, _ := tickets.Get(acme, r.Int64("id"))
	fmt.Println(got.String("title"), got.String("status"), got.Int64("sla_hours"))

	err = tickets.Insert(tenantmap.WithTenant(ctx, "globex"), tenantmap.NewRecord(map[string]any{"title": 42, "sla_hours": 4}))
	var ve *tenantmap.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			fmt.Println(f)
		}
	}
	// Output:
	// Login fails open 4
	// sla_hours: no such field in ticket for this tenant
	// title: want a string, not int64
}
