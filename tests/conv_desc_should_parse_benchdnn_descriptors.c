/*
 * kernels/conv_desc: benchdnn's own descriptors (from its conv driver documentation and its perf output) parse to
 * the problems benchdnn means, with its defaults and deductions; the canonical text parses back to the same problem;
 * and bad descriptors get their exact messages, naming the key and the character.
 */
#include "conv_desc.h"
#include "test_support.h"

#include <string.h>

typedef struct good_case {
    const char *text, *canonical;
    int64_t mb, ic, ih, iw, oc, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
} good_case;

static const good_case GOOD[] = {
    /* benchdnn's driver_conv.md example (AlexNet conv1): mb defaults to 2, w from the explicit iw/ow/kw/sw/pw */
    {"ic3ih227iw227_oc96oh55ow55_kh11kw11_sh4sw4ph0pw0_n\"alexnet:conv1\"",
     "mb2ic3ih227oc96oh55kh11sh4n\"alexnet:conv1\"", 2, 3, 227, 227, 96, 55, 55, 11, 11, 4, 4, 0, 0, 0, 0},
    /* benchdnn's canonical long form and its own short print of it (unquoted name) */
    {"g1mb1_ic3ih224iw224_oc64oh112ow112_kh7kw7_sh2sw2_ph3pw3_n\"resnet18_0\"",
     "mb1ic3ih224oc64oh112kh7sh2ph3n\"resnet18_0\"", 1, 3, 224, 224, 64, 112, 112, 7, 7, 2, 2, 3, 3, 0, 0},
    {"mb1ic3ih224oc64oh112kh7sh2ph3nresnet18_0", "mb1ic3ih224oc64oh112kh7sh2ph3n\"resnet18_0\"", 1, 3, 224, 224, 64,
     112, 112, 7, 7, 2, 2, 3, 3, 0, 0},
    {"g1mb1_ic64ih56iw56_oc64oh56ow56_kh3kw3_sh1sw1_ph1pw1_n\"resnet18_1\"", "mb1ic64ih56oc64oh56kh3ph1n\"resnet18_1\"",
     1, 64, 56, 56, 64, 56, 56, 3, 3, 1, 1, 1, 1, 0, 0},
    /* a oneDNN verbose translation: dilation 0 and every key spelled */
    {"mb1_ic1024oc512_ih16oh16kh1sh1dh0ph0_iw16ow16kw1sw1dw0pw0", "mb1ic1024ih16oc512oh16kh1", 1, 1024, 16, 16, 512, 16,
     16, 1, 1, 1, 1, 0, 0, 0, 0},
    /* the issue's example */
    {"mb32ic64ih56oc64oh56kh3ph1n\"resnet_50:res2a_branch2b\"",
     "mb32ic64ih56oc64oh56kh3ph1n\"resnet_50:res2a_branch2b\"", 32, 64, 56, 56, 64, 56, 56, 3, 3, 1, 1, 1, 1, 0, 0},
    /* deductions: input from output, padding from both sizes, output with dilation, stride, w apart from h */
    {"mb2ic16oc16oh10kh3", "mb2ic16ih12oc16oh10kh3", 2, 16, 12, 12, 16, 10, 10, 3, 3, 1, 1, 0, 0, 0, 0},
    {"ic16ih56oc16oh56kh3", "mb2ic16ih56oc16oh56kh3ph1", 2, 16, 56, 56, 16, 56, 56, 3, 3, 1, 1, 1, 1, 0, 0},
    {"ic4ih10oc4kh3dh1", "mb2ic4ih10oc4oh6kh3dh1", 2, 4, 10, 10, 4, 6, 6, 3, 3, 1, 1, 0, 0, 1, 1},
    {"ic64ih56oc128kh1sh2", "mb2ic64ih56oc128oh28kh1sh2", 2, 64, 56, 56, 128, 28, 28, 1, 1, 2, 2, 0, 0, 0, 0},
    /* sw alone is the stride of both axes (a missing h takes w) */
    {"ic4ih10iw12oc4kh3kw1sw2", "mb2ic4ih10iw12oc4oh4ow6kh3kw1sh2", 2, 4, 10, 12, 4, 4, 6, 3, 1, 2, 2, 0, 0, 0, 0},
};

static void check_good(const good_case *c) {
    nnb_conv_desc d;
    char err[512] = "", buf[256];
    int rc = nnb_conv_desc_parse(c->text, &d, err, sizeof err);
    CHECK_MSG(rc == 0, "%s parses (%s)", c->text, err);
    if (rc)
        return;
    int64_t got[] = {d.mb, d.ic, d.ih, d.iw, d.oc, d.oh, d.ow, d.kh, d.kw, d.sh, d.sw, d.ph, d.pw, d.dh, d.dw};
    const int64_t *want = &c->mb;
    for (int i = 0; i < 15; i++)
        CHECK_MSG(got[i] == want[i], "%s: field %d is %lld, want %lld", c->text, i, (long long)got[i],
                  (long long)want[i]);
    CHECK_MSG(d.ndims == 4 && d.id == 1 && d.od == 1 && d.kd == 1 && d.sd == 1 && d.pd == 0 && d.dd == 0 && d.g == 1,
              "%s is 2-D with unit depth", c->text);
    nnb_conv_desc_format(&d, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, c->canonical), "%s prints as %s, want %s", c->text, buf, c->canonical);
    nnb_conv_desc back;
    CHECK_MSG(nnb_conv_desc_parse(buf, &back, err, sizeof err) == 0 && !memcmp(&back.g, &d.g, 22 * sizeof(int64_t)) &&
                  !strcmp(back.name, d.name),
              "%s round-trips through %s", c->text, buf);
}

static void check_3d_and_groups(void) {
    nnb_conv_desc d;
    char err[512] = "", buf[256];
    const char *text = "g2mb4_ic8id5ih6iw7_oc4od5oh6ow7_kd3kh3kw3_sd1sh1sw1_pd1ph1pw1_dd0dh0dw0_n\"c3d\"";
    CHECK_MSG(nnb_conv_desc_parse(text, &d, err, sizeof err) == 0, "3-D parses (%s)", err);
    CHECK(d.ndims == 5 && d.g == 2 && d.mb == 4 && d.id == 5 && d.ih == 6 && d.iw == 7 && d.od == 5 && d.kd == 3);
    CHECK(d.pd == 1 && d.ph == 1 && d.pw == 1 && !strcmp(d.name, "c3d"));
    nnb_conv_desc_format(&d, buf, sizeof buf);
    CHECK_MSG(!strcmp(buf, "g2mb4ic8id5ih6iw7oc4od5oh6ow7kd3pd1n\"c3d\""), "3-D prints as %s", buf);
    /* 3-D from one d key: the other members of each triple follow h, and d follows h where missing */
    CHECK(nnb_conv_desc_parse("ic4id4ih10oc4kh3", &d, err, sizeof err) == 0);
    CHECK(d.ndims == 5 && d.kd == 3 && d.od == 2 && d.oh == 8 && d.ow == 8 && d.iw == 10);
    /* sizes, counts and --conv-batch */
    CHECK(nnb_conv_desc_parse("g2mb3ic4ih5oc6kh3", &d, err, sizeof err) == 0);
    CHECK(nnb_conv_desc_x_count(&d) == 3 * 4 * 25 && nnb_conv_desc_w_count(&d) == 6 * 2 * 9 &&
          nnb_conv_desc_y_count(&d) == 3 * 6 * 9);
    CHECK_NEAR(nnb_conv_desc_macs(&d), 3.0 * 6 * 9 * 2 * 9, 0);
    CHECK(nnb_conv_desc_set_mb(&d, 32, err, sizeof err) == 0 && d.mb == 32);
    CHECK(nnb_conv_desc_set_mb(&d, 0, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "minibatch 0 is out of range");
}

typedef struct bad_case {
    const char *text, *message;
} bad_case;

#define KEYS "(keys: g mb ic oc id ih iw od oh ow kd kh kw sd sh sw pd ph pw dd dh dw, then n\"name\")"
#define EG "(e.g. mb32ic64ih56oc64oh56kh3ph1)"
static const bad_case BAD[] = {
    {"", "empty descriptor " EG},
    {"___", "empty descriptor " EG},
    {"mb32ix3", "unknown key 'ix' at character 5 " KEYS},
    {"IC3ih5oc3kh3", "unknown key 'IC' at character 1 " KEYS},
    {"mb32ic", "key 'ic' at character 5 has no number (e.g. ic3)"},
    {"mb99999999999999999999", "key 'mb' at character 1: 99999999999999999999 overflows int64"},
    {"mb3000000000", "key 'mb' at character 1: 3000000000 is too large (at most 2147483647)"},
    {"ic0", "key 'ic' at character 1: 0 is not a positive size"},
    {"ic6oc4g4ih5kh1", "ic=6 is not divisible by g=4 (key 'ic' at character 1)"},
    {"ic4oc6g4ih5kh1", "oc=6 is not divisible by g=4 (key 'oc' at character 4)"},
    {"ic64ih56oc64oh57kh3ph1", "oh=57 but ih=56 kh=3 sh=1 ph=1 dh=0 give 56 (key 'oh' at character 13)"},
    {"ic4ih10oc4oh3kh3sh4", "oh=3 but ih=10 kh=3 sh=4 ph=0 dh=0 give 2 (key 'oh' at character 11)"},
    {"ic3ic4", "key 'ic' given twice (characters 1 and 4)"},
    {"ic3ih5oc3kh3#", "unexpected '#' at character 13 (expected a key such as ih, or n\"name\"; keys: g mb ic oc id ih "
                      "iw od oh ow kd kh kw sd sh sw pd ph pw dd dh dw, then n\"name\")"},
    {"3ic",
     "unexpected '3' at character 1 (expected a key such as ih, or n\"name\"; keys: g mb ic oc id ih iw od oh ow "
     "kd kh kw sd sh sw pd ph pw dd dh dw, then n\"name\")"},
    {"ic3ih5oc3kh3n\"abc", "the name at character 13 has no closing quote (write n\"NAME\")"},
    {"ic3ih5oc3kh3n\"abc\"x", "unexpected text 'x' at character 19 after the name (the name comes last)"},
    {"ic3ih5oc3kh3n\"\"", "the name at character 13 is empty (write n\"NAME\" or leave it out)"},
    {"ic3ih5oc3kh3nab\"c", "the name at character 13 has a stray quote (write n\"NAME\")"},
    {"ih5oc3kh3", "ic (input channels) is missing " EG},
    {"ic3ih5kh3", "oc (output channels) is missing " EG},
    {"ic3ih5oc3", "the kernel size is missing: give kh (kw takes it too) " EG},
    {"ic3oc3kh3", "the input size is missing: give ih (iw takes it too) or the output size oh " EG},
    {"ic3ih2oc3kh5", "kh=5 with dh=0 spans 5, more than ih=2 padded by ph=0 on each side (key 'kh' at character 10)"},
    {"ic3ih5oc3kh3dh3",
     "kh=3 with dh=3 spans 9, more than ih=5 padded by ph=0 on each side (key 'kh' at character 10)"},
    {"ic3oh5oc3kh3ph9", "ih deduced from oh=5, kh=3, sh=1, ph=9, dh=0 is -11, not positive: give ih"},
    {"mb2147483647ic2147483647ih2147483647oc1kh1",
     "the tensor x (mb*ic*id*ih*iw) has too many elements: its size overflows (at most 1152921504606846975 elements)"},
};

int main(void) {
    for (size_t i = 0; i < sizeof GOOD / sizeof *GOOD; i++)
        check_good(&GOOD[i]);
    check_3d_and_groups();
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        nnb_conv_desc d;
        char err[512] = "";
        int rc = nnb_conv_desc_parse(BAD[i].text, &d, err, sizeof err);
        CHECK_MSG(rc == -1 && !strcmp(err, BAD[i].message), "'%s' -> '%s', want '%s'", BAD[i].text, err,
                  BAD[i].message);
    }
    CHECK_MSG(sizeof BAD / sizeof *BAD >= 20, "at least 20 bad descriptors");
    return nnb_test_finish();
}
