package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/rivven/rivven-connect/schemas/registry"
)

// An embedded registry served over its REST API, used through the client.
func Example() {
	reg, err := registry.Open(registry.Options{}) // in memory; see OpenFileStore
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	srv := httptest.NewServer(registry.Handler(reg, registry.HandlerOptions{}))
	defer srv.Close()

	ctx := context.Background()
	c, err := registry.NewClient(srv.URL, registry.ClientOptions{})
	if err != nil {
		panic(err)
	}
	subject := registry.ValueSubject("orders")
	v1 := `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}`
	id, err := c.Register(ctx, subject, registry.TypeAvro, v1)
	fmt.Println(id, err)

	// Adding a field without a default breaks BACKWARD, the default level.
	v2 := `{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"total","type":"double"}]}`
	_, err = c.Register(ctx, subject, registry.TypeAvro, v2)
	fmt.Println(errors.Is(err, registry.ErrIncompatible))
	var e *registry.Error
	if errors.As(err, &e) {
		fmt.Println(e.Message)
	}
	// Output:
	// 1 <nil>
	// true
	// Schema being registered is incompatible with an earlier schema for subject 'orders-value': schema is not backward compatible with version 1 (backward): Order.total: field is read without a default but the writer schema lacks it
}
