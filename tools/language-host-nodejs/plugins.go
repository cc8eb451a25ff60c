package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// pulumiPackageJSON is the part of a package.json we care about. Provider SDKs
// mark themselves with "pulumi": {"resource": true, ...}; @pulumi/pulumi
// itself and ordinary npm packages do not.
type pulumiPackageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  *struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   []byte `json:"value"` // base64 in JSON, as encoding/json expects
		} `json:"parameterization"`
	} `json:"pulumi"`
}

// findNodeModules returns the node_modules directory Node would use for a
// program in dir: the nearest one in dir or an ancestor ("" if none).
func findNodeModules(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		nm := filepath.Join(dir, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// packageDirs lists node_modules/<name> and node_modules/@scope/<name>.
// We deliberately do not recurse into nested node_modules: that is slow,
// can loop through symlinks, and the providers a program uses are top-level
// dependencies in practice (npm hoists them).
func packageDirs(nodeModules string) []string {
	var dirs []string
	entries, err := os.ReadDir(nodeModules)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") { // .bin, .package-lock.json, ...
			continue
		}
		p := filepath.Join(nodeModules, name)
		if !strings.HasPrefix(name, "@") {
			dirs = append(dirs, p)
			continue
		}
		scoped, err := os.ReadDir(p)
		if err != nil {
			continue
		}
		for _, s := range scoped {
			dirs = append(dirs, filepath.Join(p, s.Name()))
		}
	}
	return dirs
}

// scanPackages returns the resource-plugin packages installed for the program
// in dir, sorted and de-duplicated. Unreadable or malformed package.json files
// are skipped: one broken package must not stop a deployment.
func scanPackages(dir string) []*pulumirpc.PackageDependency {
	nm := findNodeModules(dir)
	if nm == "" {
		return nil
	}
	seen := map[string]bool{}
	var deps []*pulumirpc.PackageDependency
	for _, pd := range packageDirs(nm) {
		var pkg pulumiPackageJSON
		if readJSON(filepath.Join(pd, "package.json"), &pkg) != nil {
			continue
		}
		if pkg.Pulumi == nil || !pkg.Pulumi.Resource {
			continue
		}
		dep := &pulumirpc.PackageDependency{
			Kind:    "resource",
			Name:    pkg.Pulumi.Name,
			Version: pkg.Pulumi.Version,
			Server:  pkg.Pulumi.Server,
		}
		if dep.Name == "" {
			// "@pulumi/random" -> "random": the convention for provider SDKs.
			dep.Name = pkg.Name[strings.LastIndex(pkg.Name, "/")+1:]
		}
		if dep.Version == "" {
			dep.Version = pkg.Version
		}
		if p := pkg.Pulumi.Parameterization; p != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: p.Name, Version: p.Version, Value: p.Value,
			}
		}
		key := dep.Name + "@" + dep.Version + "@" + pkg.Name
		if dep.Name == "" || seen[key] {
			continue
		}
		seen[key] = true
		deps = append(deps, dep)
	}
	sort.Slice(deps, func(i, j int) bool {
		if deps[i].Name != deps[j].Name {
			return deps[i].Name < deps[j].Name
		}
		return deps[i].Version < deps[j].Version
	})
	return deps
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{Packages: scanPackages(programDir(req.GetInfo()))}, nil
}

// GetRequiredPlugins is the deprecated form of GetRequiredPackages, kept for
// engines that still call it. Parameterized packages are still plugins here.
func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, d := range scanPackages(programDir(req.GetInfo(), req.GetPwd(), req.GetProgram())) {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server,
		})
	}
	return resp, nil
}
