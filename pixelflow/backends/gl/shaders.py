"""GLSL 330 core fragment shaders for the built-in rules.

Every pass draws one full-screen triangle over an atlas (see
:mod:`pixelflow.backends.gl.atlas`). ``locate()`` splits the fragment's
texel coordinates into the tile origin and the tile-local cell; ``at(t, dx,
dy)`` reads the neighbour at offset ``(dx, dy)`` (``dy`` is the row offset, as
in :func:`pixelflow.stencils.shift`) wrapped, clamped or zeroed *within the
tile*, so no lookup ever reaches a neighbouring tile.

The arithmetic of each shader mirrors the numpy rule operation by operation
(same order of additions and multiplications, float32 throughout; parameters
rounded to float32 where numpy rounds them), so results agree with
``backend="numpy"`` to rounding: life-like rules exactly, the others within
about 1e-6 over a few steps. The exceptions are the order of the sums in the
random-NCA mixing (numpy's is BLAS's) and the driver's ``tanh``, plus any
multiply-add fusion the driver's compiler does (GLSL 330 has no ``precise``).
"""

from __future__ import annotations

MODES = {"periodic": 0, "zero": 1, "edge": 2}


def header(height: int, width: int, boundary: str) -> str:
    """Version line, tile geometry and the tile-local neighbour lookup.

    ``locate()`` finds the fragment's tile and computes once the three
    tile-local columns and rows a 3×3 stencil reads (wrapped or clamped into
    the tile) and, for the zero boundary, which of them lie outside the
    grid; ``at`` with constant offsets then costs one texel fetch (and one
    select).
    """
    return f"""#version 330 core
#define H {height}
#define W {width}
#define MODE {MODES[boundary]}
ivec2 origin_;  // atlas texel of this tile's cell (0, 0)
ivec2 local_;   // this fragment's cell within its tile
int cols_[3];   // tile-local columns x - 1, x, x + 1 after the boundary rule
int rows_[3];
bool colin_[3];
bool rowin_[3];

void locate() {{
    ivec2 p = ivec2(gl_FragCoord.xy);
    local_ = ivec2(p.x % W, p.y % H);
    origin_ = p - local_;
    for (int d = 0; d < 3; ++d) {{
        int x = local_.x + d - 1;
        int y = local_.y + d - 1;
        colin_[d] = x >= 0 && x < W;
        rowin_[d] = y >= 0 && y < H;
#if MODE == 0
        x = x < 0 ? x + W : (x >= W ? x - W : x);
        y = y < 0 ? y + H : (y >= H ? y - H : y);
#else
        x = clamp(x, 0, W - 1);
        y = clamp(y, 0, H - 1);
#endif
        cols_[d] = x;
        rows_[d] = y;
    }}
}}

// Outside the grid (only the zero boundary asks).
bool outside(int dx, int dy) {{
    return !(colin_[dx + 1] && rowin_[dy + 1]);
}}

// Atlas texel of the neighbour (dx, dy) in the tile at `origin`: never outside that tile.
ivec2 neighbour_in(ivec2 origin, int dx, int dy) {{
    return origin + ivec2(cols_[dx + 1], rows_[dy + 1]);
}}

ivec2 neighbour(int dx, int dy) {{
    return neighbour_in(origin_, dx, dy);
}}

vec4 at_in(sampler2D t, ivec2 origin, int dx, int dy) {{
    vec4 v = texelFetch(t, neighbour_in(origin, dx, dy), 0);
#if MODE == 1
    v = outside(dx, dy) ? vec4(0.0) : v;
#endif
    return v;
}}

vec4 at(sampler2D t, int dx, int dy) {{
    return at_in(t, origin_, dx, dy);
}}

vec4 here(sampler2D t) {{
    return texelFetch(t, origin_ + local_, 0);
}}
"""


def _laplacian(name: str, tex: str) -> str:
    # stencils.laplacian: up + down + left + right - 4 x, in that order.
    return (f"    vec4 {name} = at({tex}, 0, -1) + at({tex}, 0, 1) + at({tex}, -1, 0) + at({tex}, 1, 0)"
            f" - 4.0 * here({tex});\n")


def wave(height: int, width: int, boundary: str, clip: bool, field: bool, sponge: bool) -> str:
    """Amplitude and velocity of four planes per texel; two render targets.

    ``field``: ``dt * c^2`` varies per cell (an H×W texture) rather than
    being one uniform; ``sponge``: an H×W velocity multiplier (absorbing
    boundary). Without them the shader reads neither.
    """
    mode = "periodic" if boundary == "periodic" else "edge"
    return header(height, width, mode) + f"""
#define CLIP {int(clip)}
#define FIELD {int(field)}
#define SPONGE {int(sponge)}
uniform sampler2D amp;
uniform sampler2D vel;
#if FIELD
uniform sampler2D dtc2_field;  // dt * c^2 per cell, H x W
#else
uniform float dtc2;
#endif
#if SPONGE
uniform sampler2D sponge;      // velocity multiplier per cell, H x W
#endif
uniform float damping;
uniform float dt;
uniform float clip_value;
layout(location = 0) out vec4 amp_out;
layout(location = 1) out vec4 vel_out;

void main() {{
    locate();
{_laplacian("lap", "amp")}#if FIELD
    float k = texelFetch(dtc2_field, local_, 0).r;
#else
    float k = dtc2;
#endif
    vec4 v = (here(vel) + k * lap) * damping;
#if SPONGE
    v = v * texelFetch(sponge, local_, 0).r;
#endif
    vec4 a = here(amp) + dt * v;
#if CLIP
    a = clamp(a, -clip_value, clip_value);
#endif
    amp_out = a;
    vel_out = v;
}}
"""


def gray_scott(height: int, width: int, boundary: str) -> str:
    """U and V of four pairs per texel; two render targets."""
    return header(height, width, boundary) + f"""
uniform sampler2D U;
uniform sampler2D V;
uniform float feed;
uniform float fk;     // feed + kill, summed in double as numpy does
uniform float du;
uniform float dv;
uniform float dt;
layout(location = 0) out vec4 u_out;
layout(location = 1) out vec4 v_out;

void main() {{
    locate();
    vec4 u = here(U);
    vec4 v = here(V);
    vec4 uvv = u * v * v;
{_laplacian("lap_u", "U")}{_laplacian("lap_v", "V")}\
    u_out = clamp(u + dt * (du * lap_u - uvv + feed * (1.0 - u)), 0.0, 1.0);
    v_out = clamp(v + dt * (dv * lap_v + uvv - fk * v), 0.0, 1.0);
}}
"""


def life(height: int, width: int, boundary: str) -> str:
    """Four boards per texel; the B/S table indexed by alive * 9 + live neighbours."""
    return header(height, width, boundary) + """
uniform sampler2D board;
uniform float threshold;
uniform float table[18];
layout(location = 0) out vec4 board_out;

// Cells outside a zero-boundary grid are dead whatever the threshold.
vec4 alive(int dx, int dy) {
#if MODE == 1
    if (outside(dx, dy)) return vec4(0.0);
#endif
    return vec4(greaterThanEqual(texelFetch(board, neighbour(dx, dy), 0), vec4(threshold)));
}

void main() {
    locate();
    vec4 n = alive(-1, -1) + alive(0, -1) + alive(1, -1) + alive(-1, 0)
           + alive(1, 0) + alive(-1, 1) + alive(0, 1) + alive(1, 1);
    ivec4 index = ivec4(alive(0, 0) * 9.0 + n);
    board_out = vec4(table[index.x], table[index.y], table[index.z], table[index.w]);
}
"""


_NCA_TILES = """
uniform int cols;     // tiles per atlas row
uniform int samples;  // samples in this batch; later tiles are padding
uniform int groups;   // channel groups G; a uniform, so one compiled shader serves every channel count

// Tile t = sample * groups + group of an atlas with `cols` tiles a row.
ivec2 tile_origin(int t, int tiles_per_row) {
    return ivec2((t % tiles_per_row) * W, (t / tiles_per_row) * H);
}
"""


def nca_drive(height: int, width: int, blocks: int) -> str:
    """``input_scale * W_in u`` into the state layout, from the drive atlas (once per batch).

    Both atlases hold tile ``sample * groups + g`` (``in_groups`` for the
    drive); ``Inject`` holds 4×4 blocks ``M[o * in_groups + g]`` (room for
    ``blocks`` of them).
    """
    return header(height, width, "periodic") + _NCA_TILES + f"""
uniform sampler2D drive;
uniform int drive_cols;
uniform int in_groups;
uniform float input_scale;
layout(std140) uniform Inject {{ mat4 M[{blocks}]; }};
layout(location = 0) out vec4 term;

void main() {{
    locate();
    int tile = (origin_.y / H) * cols + origin_.x / W;
    int id = tile / groups;
    int o = tile - id * groups;
    if (id >= samples) {{ term = vec4(0.0); return; }}
    vec4 acc = vec4(0.0);
    for (int g = 0; g < in_groups; ++g) {{
        acc += M[o * in_groups + g] * texelFetch(drive, tile_origin(id * in_groups + g, drive_cols) + local_, 0);
    }}
    term = input_scale * acc;
}}
"""


def nca_step(height: int, width: int, boundary: str, drive: bool, bias_slots: int, blocks: int) -> str:
    """One random-NCA step: every fragment computes one channel group of one sample.

    A fragment of tile ``sample * groups + o`` reads the 3×3 neighbourhood of
    each group tile of its sample, forms the perception of
    :func:`pixelflow.stencils.perceive` (separable Sobel / 9-point
    Laplacian) and accumulates ``mix @ perceived`` for its four output
    channels as 4×4 blocks ``M[(o * 4 + kind) * groups + g]`` (kind:
    identity, Sobel-x, Sobel-y, Laplacian). The group count is a uniform and
    the uniform block has room for ``bias_slots`` groups and ``blocks``
    blocks, so the source, and the compiled shader, is the same for every
    channel count.
    """
    return header(height, width, boundary) + _NCA_TILES + f"""
#define DRIVE {int(drive)}
uniform sampler2D state;
uniform sampler2D term;  // input_scale * W_in u, same layout as the state
uniform float gain;
uniform float keep;      // 1 - leak, rounded once as numpy does
uniform float leak;
layout(std140) uniform Mix {{ vec4 bias[{bias_slots}]; mat4 M[{blocks}]; }};
layout(location = 0) out vec4 next;

void main() {{
    locate();
    int tile = (origin_.y / H) * cols + origin_.x / W;
    int id = tile / groups;
    int o = tile - id * groups;
    if (id >= samples) {{ next = vec4(0.0); return; }}
    vec4 acc = vec4(0.0);
    for (int g = 0; g < groups; ++g) {{
        ivec2 t = tile_origin(id * groups + g, cols);
        vec4 x = texelFetch(state, t + local_, 0);
        vec4 nw = at_in(state, t, -1, -1), n = at_in(state, t, 0, -1), ne = at_in(state, t, 1, -1);
        vec4 w = at_in(state, t, -1, 0), e = at_in(state, t, 1, 0);
        vec4 sw = at_in(state, t, -1, 1), s = at_in(state, t, 0, 1), se = at_in(state, t, 1, 1);
        vec4 r0 = nw + 2.0 * w + sw;   // [1, 2, 1] down the column left of the cell
        vec4 r1 = n + 2.0 * x + s;
        vec4 r2 = ne + 2.0 * e + se;
        vec4 c0 = nw + 2.0 * n + ne;   // [1, 2, 1] along the row above
        vec4 c2 = sw + 2.0 * s + se;
        vec4 sx = (r2 - r0) * 0.125;
        vec4 sy = (c2 - c0) * 0.125;
        vec4 lp = (r0 + 2.0 * r1 + r2 - 16.0 * x) * 0.25;
        int b = o * 4 * groups + g;
        acc += M[b] * x + M[b + groups] * sx + M[b + 2 * groups] * sy + M[b + 3 * groups] * lp;
    }}
    vec4 z = gain * acc + bias[o];
#if DRIVE
    z = z + here(term);
#endif
    next = keep * here(state) + leak * tanh(z);
}}
"""
