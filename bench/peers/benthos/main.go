// The benchmark's Benthos peer: Benthos v4.27.0 with the components its config uses (the
// http_server input, the json_array unarchiver and the other pure processors, the kafka_franz
// output, the OTLP tracer, the Prometheus metrics it serves by default), run from a config file as the `benthos` command runs one.
package main

import (
	"context"

	_ "github.com/benthosdev/benthos/v4/public/components/io"
	_ "github.com/benthosdev/benthos/v4/public/components/kafka"
	_ "github.com/benthosdev/benthos/v4/public/components/otlp"
	_ "github.com/benthosdev/benthos/v4/public/components/prometheus"
	_ "github.com/benthosdev/benthos/v4/public/components/pure"
	"github.com/benthosdev/benthos/v4/public/service"
)

func main() {
	service.RunCLI(context.Background())
}
