module github.com/pawnet/pawnet

go 1.26.0

tool github.com/magefile/mage

require (
	github.com/disintegration/imaging v1.6.2
	github.com/magefile/mage v1.17.2
	github.com/schollz/progressbar/v3 v3.19.1
	golang.org/x/image v0.48.0
)

require (
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.44.0 // indirect
)
