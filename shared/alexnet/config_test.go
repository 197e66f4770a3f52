package alexnet

import "testing"

func TestConfigs(t *testing.T) {
	cases := []struct {
		cfg     Config
		final   int
		flat    int
		params  int
		wantErr bool
	}{
		{Full(), 6, 9216, 58_289_538, false},
		{Small(), 1, 64, 537_954, false},
		// torchvision's AlexNet has 61,100,840 parameters with its
		// 1000-class head; a 2-class head has 4,088,806 fewer.
		{Torchvision(), 6, 9216, 61_100_840 - 998*4097, false},
		{TorchvisionTiny(), 6, 576, 34_986, false},
		{func() Config { c := Small(); c.Pads[0] = 0; return c }(), 0, 0, 0, true}, // third pool sees 2×2
		{func() Config { c := Full(); c.Dropout = 1; return c }(), 0, 0, 0, true},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		if (err != nil) != c.wantErr {
			t.Fatalf("%s: Validate() = %v, wantErr %v", c.cfg, err, c.wantErr)
		}
		if c.wantErr {
			continue
		}
		if _, final := c.cfg.LayerSizes(); final != c.final || c.cfg.FlatFeatures() != c.flat {
			t.Errorf("%s: final side %d, flat %d; want %d, %d", c.cfg.Name, final, c.cfg.FlatFeatures(), c.final, c.flat)
		}
		if c.params != 0 && c.cfg.NumParams() != c.params {
			t.Errorf("%s: %d params, want %d", c.cfg.Name, c.cfg.NumParams(), c.params)
		}
		for _, name := range Names {
			if cfg, err := ByName(name); err != nil || cfg.Name != name {
				t.Errorf("ByName(%q) = %s, %v", name, cfg.Name, err)
			}
		}
	}
	if _, err := ByName("huge"); err == nil {
		t.Error("unknown config accepted")
	}
}
