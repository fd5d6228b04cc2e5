// compose-check loads a compose file the way `docker compose` does, with the Compose
// Specification's reference loader (github.com/compose-spec/compose-go): its JSON schema,
// interpolation of ${VAR:-default}, normalisation and the consistency checks (undefined
// services, volumes and networks, healthcheck tests, ...). It prints the resolved project as
// JSON, or the loader's error and exit status 1.
//
//	compose-check [-env-file FILE] [-scale SERVICE=N ...] compose.yml
//
// Only -env-file (when given) supplies variables: the calling environment does not, so the
// result is what a fresh clone gives.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type scales map[string]int

func (s scales) String() string { return fmt.Sprint(map[string]int(s)) }

func (s scales) Set(value string) error {
	name, count, ok := strings.Cut(value, "=")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 0 {
		return fmt.Errorf("want SERVICE=N, got %q", value)
	}
	s[name] = n
	return nil
}

func main() {
	envFile := flag.String("env-file", "", "variables for interpolation, as `docker compose --env-file` reads them")
	scale := scales{}
	flag.Var(scale, "scale", "SERVICE=N, as `docker compose up --scale` sets it (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: compose-check [-env-file FILE] [-scale SERVICE=N ...] compose.yml")
		os.Exit(2)
	}
	if err := run(*envFile, scale, flag.Arg(0)); err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
		os.Exit(1)
	}
}

func run(envFile string, scale scales, file string) error {
	file, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	var envFiles []string
	if envFile != "" {
		envFiles = []string{envFile}
	}
	options, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		// No default .env either: an explicit file or none.
		cli.WithEnvFiles(append(envFiles, os.DevNull)...),
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	for name, n := range scale {
		service, err := project.GetService(name)
		if err != nil {
			return err
		}
		service.Scale = &n
		project.Services[name] = service
	}
	// `docker compose up --scale` refuses a service whose fixed host port would be bound twice.
	for name, service := range project.Services {
		if service.Scale != nil && *service.Scale > 1 {
			for _, port := range service.Ports {
				if port.Published != "" && !strings.Contains(port.Published, "-") {
					return fmt.Errorf("service %q is scaled to %d but publishes host port %s", name, *service.Scale, port.Published)
				}
			}
		}
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(out))
	return err
}
