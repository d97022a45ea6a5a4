// The image assembler (cmd: `vmnet-image`) and the pause program, built once by
// hack/image/build.ts into ~/.cache/vmnet-operator. Nothing here is shipped except the pause binary.
module vmnet.io/hack/image

go 1.25.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
