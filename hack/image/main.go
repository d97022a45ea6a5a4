// vmnet-image writes one OCI image as an OCI layout tar archive (what `ctr images import`
// takes) from a JSON spec on stdin, and prints {"digest": ...} on stdout. hack/image/build.ts
// prepares the spec (which files go in which layer, the image config); this program owns the
// byte-level rules that make two builds of the same inputs give the same digest:
//
//   - every tar entry: sorted by path, numeric owner (0:0 unless the spec says otherwise, no
//     user or group names), modification time = the spec's `created`, no access/change times;
//   - modes normalised (directories 0755, files 0644 or 0755, symlinks 0777), so the build host's
//     umask and the order files were written in never show;
//   - the archive of the layout itself written the same way.
//
// go-containerregistry does the OCI parts (layer digests and diff IDs, gzip, manifest, config,
// index, blob layout); the standard library's archive/tar writes the entries.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is what build.ts sends. Paths inside the image are relative ("usr/bin/x").
type Spec struct {
	Reference string    `json:"reference"`
	Created   int64     `json:"created"`
	Config    v1.Config `json:"config"`
	Layers    []Layer   `json:"layers"`
	Output    string    `json:"output"`
}

// Layer is one layer: whole directory trees (e.g. unpacked Debian packages) and single files.
type Layer struct {
	Comment string `json:"comment"`
	Trees   []Tree `json:"trees"`
	Files   []File `json:"files"`
}

// Tree copies a host directory's contents to the image root, minus excluded path prefixes.
type Tree struct {
	Src     string   `json:"src"`
	Exclude []string `json:"exclude"`
	Keep    []string `json:"keep"` // exceptions to Exclude (e.g. copyright files under usr/share/doc)
}

// File is one file from the host (Src) or with inline Content.
type File struct {
	Path    string  `json:"path"`
	Src     string  `json:"src"`
	Content *string `json:"content"`
	Mode    int64   `json:"mode"`
	UID     int     `json:"uid"`
	GID     int     `json:"gid"`
}

type entry struct {
	typ     byte // tar.TypeDir, tar.TypeReg, tar.TypeSymlink
	mode    int64
	uid     int
	gid     int
	src     string // host file for TypeReg (or content)
	content []byte
	link    string
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "vmnet-image:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	var spec Spec
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("reading the spec: %w", err)
	}
	created := time.Unix(spec.Created, 0).UTC()
	img, err := image(spec, created)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if err := writeArchive(img, spec.Reference, spec.Output, created); err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(map[string]string{"digest": digest.String()})
}

func image(spec Spec, created time.Time) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base, err := mutate.ConfigFile(base, &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config:       spec.Config,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, 0, len(spec.Layers))
	for _, l := range spec.Layers {
		data, err := layerTar(l, created)
		if err != nil {
			return nil, fmt.Errorf("layer %q: %w", l.Comment, err)
		}
		layer, err := tarball.LayerFromOpener(
			func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer),
			// BestSpeed (go-containerregistry's default, spelled out because the digest depends on
			// it): on the node binary the default level saves 10% of the size for 3 times the time.
			tarball.WithCompressionLevel(gzip.BestSpeed),
			// Compress once: the digest and the written blob come from the same bytes.
			tarball.WithCompressedCaching,
		)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: l.Comment, Comment: "vmnet-image"},
		})
	}
	return mutate.Append(base, adds...)
}

// layerTar collects a layer's entries (later sources override earlier ones, parents are added)
// and writes them as a deterministic tar.
func layerTar(l Layer, created time.Time) ([]byte, error) {
	entries := map[string]*entry{}
	for _, t := range l.Trees {
		if err := addTree(entries, t); err != nil {
			return nil, err
		}
	}
	for _, f := range l.Files {
		if err := addFile(entries, f); err != nil {
			return nil, err
		}
	}
	addParents(entries)
	var buf bytes.Buffer
	if err := writeTar(&buf, entries, created); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// excluded: below one of the Exclude prefixes ("usr/share/doc/") and not exactly one of the Keep
// paths. A directory is matched with its trailing slash, so "usr/share/doc/" excludes the
// directory itself too.
func excluded(rel string, isDir bool, t Tree) bool {
	for _, k := range t.Keep {
		if rel == k {
			return false
		}
	}
	if isDir {
		rel += "/"
	}
	for _, e := range t.Exclude {
		if strings.HasPrefix(rel, e) {
			return true
		}
	}
	return false
}

func addTree(entries map[string]*entry, t Tree) error {
	return filepath.WalkDir(t.Src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(t.Src, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			// Keep walking an excluded directory: a kept file may sit below it; addParents
			// brings back the directories it needs.
			if !excluded(rel, true, t) {
				entries[rel] = &entry{typ: tar.TypeDir, mode: 0o755}
			}
		case excluded(rel, false, t):
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			entries[rel] = &entry{typ: tar.TypeSymlink, mode: 0o777, link: target}
		case info.Mode().IsRegular():
			entries[rel] = &entry{typ: tar.TypeReg, mode: fileMode(int64(info.Mode().Perm())), src: p}
		default:
			return fmt.Errorf("%s: not a file, directory or symlink", p)
		}
		return nil
	})
}

func fileMode(perm int64) int64 {
	if perm&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func addFile(entries map[string]*entry, f File) error {
	rel := strings.TrimPrefix(path.Clean(f.Path), "/")
	e := &entry{typ: tar.TypeReg, mode: fileMode(f.Mode), uid: f.UID, gid: f.GID}
	switch {
	case f.Content != nil:
		e.content = []byte(*f.Content)
	case f.Src != "":
		if _, err := os.Stat(f.Src); err != nil {
			return err
		}
		e.src = f.Src
	default:
		return fmt.Errorf("%s: neither src nor content", f.Path)
	}
	entries[rel] = e
	return nil
}

func addParents(entries map[string]*entry) {
	for p := range entries {
		for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = &entry{typ: tar.TypeDir, mode: 0o755}
			}
		}
	}
}

func writeTar(w io.Writer, entries map[string]*entry, created time.Time) error {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, n := range names {
		e := entries[n]
		hdr := &tar.Header{Typeflag: e.typ, Name: n, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: created, Linkname: e.link}
		var body []byte
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			body = e.content
			if e.src != "" {
				b, err := os.ReadFile(e.src)
				if err != nil {
					return err
				}
				body = b
			}
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	return tw.Close()
}

// writeArchive writes the image as an OCI image layout (go-containerregistry) in a temporary
// directory, then packs that directory into the output tar with the same rules as a layer.
// The index entry names the image twice: io.containerd.image.name is what `ctr images import`
// reads as the image name, org.opencontainers.image.ref.name is the OCI layout's own name.
func writeArchive(img v1.Image, ref, output string, created time.Time) error {
	dir, err := os.MkdirTemp(filepath.Dir(output), ".oci-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	err = p.AppendImage(img,
		layout.WithAnnotations(map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref}),
		layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}),
	)
	if err != nil {
		return err
	}
	entries := map[string]*entry{}
	if err := addTree(entries, Tree{Src: dir}); err != nil {
		return err
	}
	for _, e := range entries {
		if e.typ == tar.TypeReg {
			e.mode = 0o644 // go-containerregistry writes index.json and oci-layout executable
		}
	}
	partial := output + ".partial"
	f, err := os.Create(partial)
	if err != nil {
		return err
	}
	if err := writeTar(f, entries, created); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(partial, output)
}
