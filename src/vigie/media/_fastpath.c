/*
 * vigie.media._fastpath — the per-packet path of ingest, in C.
 *
 * Two types:
 *   Packer  turns one access unit (Annex B or 4-byte length framing) into one
 *           fMP4 fragment (moof + mdat, one sample) on a continuous 90 kHz
 *           timeline. Codec rules (H.264 or H.265 NAL headers) are a parameter.
 *           It reports new parameter sets; the init segment is built in Python
 *           (rare), see fragmenter.py.
 *   Reader  one connection to a camera through FFmpeg's libavformat (RTSP over
 *           TCP); read() returns the next video packet, already packed when a
 *           Packer is given. The GIL is released while FFmpeg reads and while
 *           packing, so one Python thread per camera costs one short GIL
 *           acquisition per frame.
 *
 * And, for exports, scan_fragments (index a recorded segment file) and
 * gather (copy its samples into a write buffer).
 *
 * Layout of a fragment (byte for byte what fmp4.media_segment writes for one sample):
 *   moof(104) = mfhd(16) + traf(80 = tfhd(16) + tfdt v1(20) + trun v1(36))
 *   mdat(8 + payload)
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE /* sync_file_range */
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>

#define TIMESCALE_90K 90000
#define MAX_JUMP_90K (10 * TIMESCALE_90K)
#define HEADER_BYTES 112 /* moof + mdat header */
#define MAX_PARAM_SETS 3

enum { CODEC_H264 = 0, CODEC_HEVC = 1 };
enum { NAL_OTHER = 0, NAL_PARAM = 1, NAL_SKIP = 2, NAL_KEY = 3, NAL_SAMPLE = 4 };

/* ------------------------------------------------------------------ Packer */

typedef struct {
    PyObject_HEAD
    int codec;
    uint8_t *params[MAX_PARAM_SETS]; /* H.264: SPS, PPS; H.265: VPS, SPS, PPS */
    Py_ssize_t params_len[MAX_PARAM_SETS];
    int initialized;
    int need_key;
    int has_offset;
    int64_t offset;
    int has_last;
    int64_t last_out;
    int64_t last_duration;
    uint32_t sequence;
    uint8_t *buf;
    size_t cap;
    size_t len;
    /* result of the last pack (no GIL needed to compute) */
    int out_key;
    int64_t out_dts;
    int64_t out_duration;
    int params_changed;
    int have_fragment;
} Packer;

typedef struct {
    const uint8_t *p;
    size_t n;
} Nal;

static int nal_param_slot(int codec, const uint8_t *nal, size_t n)
{
    if (n == 0) return -1;
    if (codec == CODEC_H264) {
        int t = nal[0] & 0x1F;
        if (t == 7) return 0;
        if (t == 8) return 1;
        return -1;
    }
    int t = (nal[0] >> 1) & 0x3F;
    if (t == 32) return 0;
    if (t == 33) return 1;
    if (t == 34) return 2;
    return -1;
}

static int nal_kind(int codec, const uint8_t *nal, size_t n)
{
    if (n == 0) return NAL_SKIP;
    if (nal_param_slot(codec, nal, n) >= 0) return NAL_PARAM;
    if (codec == CODEC_H264) {
        int t = nal[0] & 0x1F;
        if (t == 9) return NAL_SKIP; /* access unit delimiter */
        if (t == 5) return NAL_KEY;
        return NAL_SAMPLE;
    }
    int t = (nal[0] >> 1) & 0x3F;
    if (t == 35) return NAL_SKIP; /* AUD */
    if (t >= 16 && t <= 23) return NAL_KEY; /* IRAP */
    return NAL_SAMPLE;
}

static int n_params(int codec) { return codec == CODEC_H264 ? 2 : 3; }

static int is_annexb(const uint8_t *d, size_t n)
{
    return (n >= 3 && d[0] == 0 && d[1] == 0 && d[2] == 1) ||
           (n >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1);
}

static const uint8_t *find_start(const uint8_t *p, const uint8_t *end)
{
    /* first 00 00 01 in [p, end) */
    while (p + 3 <= end) {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        if (z == NULL || z + 3 > end) return NULL;
        if (z[1] == 0 && z[2] == 1) return z;
        p = z + 1;
    }
    return NULL;
}

/* Whole buffer = 4-byte lengths + NAL units (forbidden bit clear), exactly. */
static int exact_length_prefixed(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i + 4 <= n) {
        size_t size = ((size_t)d[i] << 24) | ((size_t)d[i + 1] << 16) | ((size_t)d[i + 2] << 8) | d[i + 3];
        i += 4;
        if (size == 0 || size > n - i || (d[i] & 0x80)) return 0;
        i += size;
    }
    return i == n && n > 0;
}

/* Split into at most max NAL units; returns the count, or -1 if there are more.
 * A first NAL unit of 256-511 bytes gives a length field starting 00 00 01:
 * a buffer that parses exactly as lengths is taken as lengths, not Annex B. */
static int split_nals(const uint8_t *d, size_t n, Nal *out, int max)
{
    int count = 0;
    if (is_annexb(d, n) && !exact_length_prefixed(d, n)) {
        const uint8_t *end = d + n;
        const uint8_t *s = find_start(d, end);
        const uint8_t *start = s + 3;
        for (;;) {
            const uint8_t *j = find_start(start, end);
            if (j == NULL) {
                const uint8_t *e = end;
                while (e > start && e[-1] == 0) e--; /* trailing_zero_8bits */
                if (e > start) {
                    if (count == max) return -1;
                    out[count].p = start;
                    out[count].n = (size_t)(e - start);
                    count++;
                }
                return count;
            }
            const uint8_t *e = (j > start && j[-1] == 0) ? j - 1 : j;
            if (e > start) {
                if (count == max) return -1;
                out[count].p = start;
                out[count].n = (size_t)(e - start);
                count++;
            }
            start = j + 3;
        }
    }
    size_t i = 0;
    while (i + 4 <= n) {
        size_t size = ((size_t)d[i] << 24) | ((size_t)d[i + 1] << 16) | ((size_t)d[i + 2] << 8) | d[i + 3];
        i += 4;
        if (size > n - i) size = n - i;
        if (count == max) return -1;
        out[count].p = d + i;
        out[count].n = size;
        count++;
        i += size;
    }
    return count;
}

static int take_param(Packer *self, const uint8_t *nal, size_t n)
{
    int slot = nal_param_slot(self->codec, nal, n);
    if (slot < 0) return 0;
    if (self->params[slot] != NULL && (size_t)self->params_len[slot] == n &&
        memcmp(self->params[slot], nal, n) == 0)
        return 0;
    uint8_t *copy = PyMem_RawMalloc(n);
    if (copy == NULL) return -1;
    memcpy(copy, nal, n);
    PyMem_RawFree(self->params[slot]);
    self->params[slot] = copy;
    self->params_len[slot] = (Py_ssize_t)n;
    return 1;
}

static int have_all_params(Packer *self)
{
    for (int i = 0; i < n_params(self->codec); i++)
        if (self->params[i] == NULL) return 0;
    return 1;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static int64_t place(Packer *self, int64_t src_dts)
{
    if (!self->has_offset) {
        int64_t start = self->has_last ? self->last_out + self->last_duration : 0;
        self->offset = start - src_dts;
        self->has_offset = 1;
    }
    int64_t out = src_dts + self->offset;
    if (self->has_last) {
        int64_t delta = out - self->last_out;
        if (delta <= 0 || delta > MAX_JUMP_90K) {
            self->offset += self->last_out + self->last_duration - out;
            out = self->last_out + self->last_duration;
        } else {
            self->last_duration = delta;
        }
    }
    self->last_out = out;
    self->has_last = 1;
    return out;
}

#define MAX_NALS 256

/*
 * Pack one access unit given as NAL units. No Python API is used: callable
 * without the GIL. Returns 0, -1 when out of memory, -2 for too many NAL units.
 */
static int pack_nals(Packer *self, Nal *nals, int count, int has_pts, int64_t pts,
                     int has_dts, int64_t dts)
{
    self->have_fragment = 0;
    self->params_changed = 0;
    int changed = 0;
    int key = 0;
    size_t payload = 0;
    int samples = 0;
    for (int i = 0; i < count; i++) {
        int kind = nal_kind(self->codec, nals[i].p, nals[i].n);
        if (kind == NAL_PARAM) {
            int r = take_param(self, nals[i].p, nals[i].n);
            if (r < 0) return -1;
            changed |= r;
        } else if (kind == NAL_SKIP) {
            nals[i].n = 0;
            nals[i].p = NULL;
        } else {
            if (kind == NAL_KEY) key = 1;
            payload += 4 + nals[i].n;
            samples++;
        }
    }
    /* Any new parameter set is reported (Python checks it, even before the
     * set is complete); a complete set makes a new configuration. */
    int complete = have_all_params(self);
    self->params_changed = changed || (complete && !self->initialized);
    if (self->params_changed && complete) {
        self->initialized = 1;
        self->need_key = 1;
    }
    if (!self->initialized || samples == 0) return 0;
    if (self->need_key && !key) return 0;
    self->need_key = 0;

    int64_t src_dts;
    if (has_dts) src_dts = dts;
    else if (has_pts) src_dts = pts;
    else src_dts = (self->has_last ? self->last_out : 0) + self->last_duration -
                   (self->has_offset ? self->offset : 0);
    int64_t out = place(self, src_dts);
    int64_t cts = (has_pts && has_dts && pts >= dts) ? pts - dts : 0;
    int64_t duration = self->last_duration;
    self->sequence++;

    size_t total = HEADER_BYTES + payload;
    if (total > self->cap) {
        size_t cap = total + total / 2;
        uint8_t *b = PyMem_RawRealloc(self->buf, cap);
        if (b == NULL) return -1;
        self->buf = b;
        self->cap = cap;
    }
    uint8_t *h = self->buf;
    put32(h, 104); memcpy(h + 4, "moof", 4);
    put32(h + 8, 16); memcpy(h + 12, "mfhd", 4); put32(h + 16, 0); put32(h + 20, self->sequence);
    put32(h + 24, 80); memcpy(h + 28, "traf", 4);
    put32(h + 32, 16); memcpy(h + 36, "tfhd", 4); put32(h + 40, 0x020000); put32(h + 44, 1);
    put32(h + 48, 20); memcpy(h + 52, "tfdt", 4); put32(h + 56, 0x01000000); put64(h + 60, (uint64_t)out);
    put32(h + 68, 36); memcpy(h + 72, "trun", 4); put32(h + 76, 0x01000F01); put32(h + 80, 1);
    put32(h + 84, HEADER_BYTES);
    put32(h + 88, (uint32_t)duration); put32(h + 92, (uint32_t)payload);
    put32(h + 96, key ? 0x02000000u : 0x01010000u); put32(h + 100, (uint32_t)(int32_t)cts);
    put32(h + 104, (uint32_t)(8 + payload)); memcpy(h + 108, "mdat", 4);
    uint8_t *w = h + HEADER_BYTES;
    for (int i = 0; i < count; i++) {
        if (nals[i].p == NULL) continue;
        if (nal_kind(self->codec, nals[i].p, nals[i].n) == NAL_PARAM) continue;
        put32(w, (uint32_t)nals[i].n);
        memcpy(w + 4, nals[i].p, nals[i].n);
        w += 4 + nals[i].n;
    }
    self->len = total;
    self->out_key = key;
    self->out_dts = out;
    self->out_duration = duration;
    self->have_fragment = 1;
    return 0;
}

static int pack(Packer *self, const uint8_t *data, size_t n, int has_pts, int64_t pts,
                int has_dts, int64_t dts)
{
    Nal nals[MAX_NALS];
    int count = split_nals(data, n, nals, MAX_NALS);
    if (count < 0) {
        self->have_fragment = 0;
        self->params_changed = 0;
        return -2;
    }
    return pack_nals(self, nals, count, has_pts, pts, has_dts, dts);
}

static PyObject *packer_result(Packer *self)
{
    PyObject *params = Py_None, *frag = Py_None;
    Py_INCREF(Py_None);
    Py_INCREF(Py_None);
    if (self->params_changed) {
        int k = n_params(self->codec);
        PyObject *t = PyTuple_New(k);
        if (t == NULL) goto fail;
        for (int i = 0; i < k; i++) {
            PyObject *b;
            if (self->params[i] == NULL) {
                b = Py_None;
                Py_INCREF(Py_None);
            } else {
                b = PyBytes_FromStringAndSize((const char *)self->params[i], self->params_len[i]);
            }
            if (b == NULL) { Py_DECREF(t); goto fail; }
            PyTuple_SET_ITEM(t, i, b);
        }
        Py_DECREF(params);
        params = t;
    }
    if (self->have_fragment) {
        PyObject *t = Py_BuildValue("(y#OLLn)", (const char *)self->buf, (Py_ssize_t)self->len,
                                    self->out_key ? Py_True : Py_False, (long long)self->out_dts,
                                    (long long)self->out_duration,
                                    (Py_ssize_t)(self->len - HEADER_BYTES));
        if (t == NULL) goto fail;
        Py_DECREF(frag);
        frag = t;
    }
    return Py_BuildValue("(NN)", params, frag);
fail:
    Py_DECREF(params);
    Py_DECREF(frag);
    return NULL;
}

static int packer_init(Packer *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"codec", "default_duration_90k", NULL};
    const char *codec = "h264";
    long long dd = TIMESCALE_90K / 25;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|sL", kwlist, &codec, &dd)) return -1;
    if (strcmp(codec, "h264") == 0) self->codec = CODEC_H264;
    else if (strcmp(codec, "hevc") == 0) self->codec = CODEC_HEVC;
    else {
        PyErr_Format(PyExc_ValueError, "no packer for codec %s", codec);
        return -1;
    }
    self->last_duration = dd;
    self->need_key = 1;
    return 0;
}

static void packer_dealloc(Packer *self)
{
    for (int i = 0; i < MAX_PARAM_SETS; i++) PyMem_RawFree(self->params[i]);
    PyMem_RawFree(self->buf);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int opt_ts(PyObject *o, int *has, int64_t *v)
{
    if (o == Py_None) { *has = 0; *v = 0; return 0; }
    long long x = PyLong_AsLongLong(o);
    if (x == -1 && PyErr_Occurred()) return -1;
    *has = 1;
    *v = x;
    return 0;
}

static PyObject *pack_error(int r)
{
    if (r == -2) return PyErr_Format(PyExc_ValueError, "more than %d NAL units in one access unit", MAX_NALS);
    return PyErr_NoMemory();
}

static PyObject *packer_push(Packer *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"data", "pts", "dts", NULL};
    Py_buffer view;
    PyObject *pts_o = Py_None, *dts_o = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*|OO", kwlist, &view, &pts_o, &dts_o)) return NULL;
    int hp, hd;
    int64_t pts, dts;
    if (opt_ts(pts_o, &hp, &pts) < 0 || opt_ts(dts_o, &hd, &dts) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    int r = pack(self, view.buf, (size_t)view.len, hp, pts, hd, dts);
    PyBuffer_Release(&view);
    if (r < 0) return pack_error(r);
    return packer_result(self);
}

static PyObject *packer_take_parameter_set(Packer *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    int r = take_param(self, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    if (r < 0) return PyErr_NoMemory();
    return PyBool_FromLong(r);
}

static PyObject *packer_discontinuity(Packer *self, PyObject *Py_UNUSED(ignored))
{
    self->has_offset = 0;
    self->need_key = 1;
    Py_RETURN_NONE;
}

static PyObject *packer_forget_parameters(Packer *self, PyObject *Py_UNUSED(ignored))
{
    for (int i = 0; i < MAX_PARAM_SETS; i++) {
        PyMem_RawFree(self->params[i]);
        self->params[i] = NULL;
        self->params_len[i] = 0;
    }
    self->initialized = 0;
    self->need_key = 1;
    Py_RETURN_NONE;
}

static PyMethodDef packer_methods[] = {
    {"push", (PyCFunction)(void (*)(void))packer_push, METH_VARARGS | METH_KEYWORDS,
     "push(data, pts=None, dts=None) -> (new parameter sets or None, fragment or None)"},
    {"take_parameter_set", (PyCFunction)packer_take_parameter_set, METH_O,
     "Adopt one parameter-set NAL unit; True when it changed the configuration."},
    {"discontinuity", (PyCFunction)packer_discontinuity, METH_NOARGS,
     "The source restarted: re-base its timestamps after the last frame, wait for a keyframe."},
    {"forget_parameters", (PyCFunction)packer_forget_parameters, METH_NOARGS,
     "Drop the parameter sets (after a malformed one was refused)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PackerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vigie.media._fastpath.Packer",
    .tp_basicsize = sizeof(Packer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Access units to one-sample fMP4 fragments on a continuous 90 kHz timeline.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)packer_init,
    .tp_dealloc = (destructor)packer_dealloc,
    .tp_methods = packer_methods,
};

/* ------------------------------------------------------------------ Reader */

typedef struct {
    PyObject_HEAD
    AVFormatContext *fmt;
    AVPacket *pkt;
    int stream;
    AVRational tb;
    volatile int interrupted;
    int busy;
} Reader;

static int interrupt_cb(void *opaque)
{
    return ((Reader *)opaque)->interrupted;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static PyObject *raise_av(int err, const char *what)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, msg, sizeof msg);
    if (err == AVERROR_EOF) return PyErr_Format(PyExc_EOFError, "%s: %s", what, msg);
    if (err == AVERROR_INVALIDDATA) return PyErr_Format(PyExc_ValueError, "%s: %s", what, msg);
    if (err < 0 && err > -4096 && err != AVERROR_EXIT) {
        PyObject *e = Py_BuildValue("(is)", AVUNERROR(err), msg);
        if (e != NULL) {
            PyErr_SetObject(PyExc_OSError, e);
            Py_DECREF(e);
        }
        return NULL;
    }
    return PyErr_Format(PyExc_RuntimeError, "%s: %s", what, msg);
}

static int reader_init(Reader *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist)) return -1;
    self->stream = -1;
    return 0;
}

static void reader_close_fmt(Reader *self)
{
    if (self->fmt != NULL) avformat_close_input(&self->fmt);
    if (self->pkt != NULL) av_packet_free(&self->pkt);
}

static void reader_dealloc(Reader *self)
{
    reader_close_fmt(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *reader_open(Reader *self, PyObject *args)
{
    const char *url;
    PyObject *options;
    if (!PyArg_ParseTuple(args, "sO!", &url, &PyDict_Type, &options)) return NULL;
    if (self->fmt != NULL || self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "reader already open");
        return NULL;
    }
    AVDictionary *dict = NULL;
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(options, &pos, &k, &v)) {
        const char *ks = PyUnicode_AsUTF8(k), *vs = PyUnicode_AsUTF8(v);
        if (ks == NULL || vs == NULL) {
            av_dict_free(&dict);
            return NULL;
        }
        av_dict_set(&dict, ks, vs, 0);
    }
    AVFormatContext *fmt = avformat_alloc_context();
    if (fmt == NULL) {
        av_dict_free(&dict);
        return PyErr_NoMemory();
    }
    fmt->interrupt_callback.callback = interrupt_cb;
    fmt->interrupt_callback.opaque = self;
    int err, stream = -1;
    const char *stage = "open";
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    err = avformat_open_input(&fmt, url, NULL, &dict);
    if (err >= 0) {
        stage = "find stream info";
        err = avformat_find_stream_info(fmt, NULL);
    }
    if (err >= 0) {
        for (unsigned i = 0; i < fmt->nb_streams; i++) {
            if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
                stream = (int)i;
                break;
            }
        }
    }
    Py_END_ALLOW_THREADS
    self->busy = 0;
    av_dict_free(&dict);
    if (err < 0) {
        avformat_close_input(&fmt); /* frees fmt when open failed too */
        return raise_av(err, stage);
    }
    if (stream < 0) {
        avformat_close_input(&fmt);
        PyErr_SetString(PyExc_ValueError, "Invalid data found when processing input: no video stream");
        return NULL;
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != stream) fmt->streams[i]->discard = AVDISCARD_ALL;
    self->pkt = av_packet_alloc();
    if (self->pkt == NULL) {
        avformat_close_input(&fmt);
        return PyErr_NoMemory();
    }
    self->fmt = fmt;
    self->stream = stream;
    self->tb = fmt->streams[stream]->time_base;
    AVCodecParameters *par = fmt->streams[stream]->codecpar;
    const char *name = avcodec_get_name(par->codec_id);
    PyObject *extradata;
    if (par->extradata != NULL && par->extradata_size > 0)
        extradata = PyBytes_FromStringAndSize((const char *)par->extradata, par->extradata_size);
    else {
        extradata = Py_None;
        Py_INCREF(Py_None);
    }
    if (extradata == NULL) return NULL;
    return Py_BuildValue("(sNii)", name, extradata, par->width, par->height);
}

static int64_t to_90k(Reader *self, int64_t v)
{
    if (self->tb.num == 1 && self->tb.den == TIMESCALE_90K) return v;
    return av_rescale_q(v, self->tb, (AVRational){1, TIMESCALE_90K});
}

/*
 * read(packer=None): the next packet of the video stream.
 * With a packer: (packet bytes, read instant, new parameter sets or None, fragment or None).
 * Without:       (packet bytes, read instant, (data, pts, dts, is_key)).
 */
static PyObject *reader_read(Reader *self, PyObject *args)
{
    PyObject *packer_o = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &packer_o)) return NULL;
    if (self->fmt == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "reader not open");
        return NULL;
    }
    Packer *packer = NULL;
    if (packer_o != Py_None) {
        if (!PyObject_TypeCheck(packer_o, &PackerType)) {
            PyErr_SetString(PyExc_TypeError, "packer must be a Packer");
            return NULL;
        }
        packer = (Packer *)packer_o;
    }
    int err, perr = 0, size = 0;
    double now = 0.0;
    AVPacket *pkt = self->pkt;
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        err = av_read_frame(self->fmt, pkt);
        if (err < 0) break;
        if (pkt->stream_index == self->stream && pkt->size > 0) break;
        av_packet_unref(pkt);
    }
    if (err >= 0) {
        now = mono_now();
        size = pkt->size;
        if (packer != NULL) {
            int hp = pkt->pts != AV_NOPTS_VALUE, hd = pkt->dts != AV_NOPTS_VALUE;
            perr = pack(packer, pkt->data, (size_t)pkt->size, hp, hp ? to_90k(self, pkt->pts) : 0,
                        hd, hd ? to_90k(self, pkt->dts) : 0);
        }
    }
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (err < 0) return raise_av(err, "read");
    PyObject *result;
    if (packer != NULL) {
        if (perr < 0) {
            av_packet_unref(pkt);
            return pack_error(perr);
        }
        PyObject *pr = packer_result(packer);
        if (pr == NULL) {
            av_packet_unref(pkt);
            return NULL;
        }
        result = Py_BuildValue("(idN)", size, now, pr);
    } else {
        PyObject *pts = pkt->pts == AV_NOPTS_VALUE ? (Py_INCREF(Py_None), Py_None)
                                                  : PyLong_FromLongLong(to_90k(self, pkt->pts));
        PyObject *dts = pkt->dts == AV_NOPTS_VALUE ? (Py_INCREF(Py_None), Py_None)
                                                  : PyLong_FromLongLong(to_90k(self, pkt->dts));
        result = Py_BuildValue("(id(y#NNO))", size, now, (const char *)pkt->data, (Py_ssize_t)pkt->size,
                               pts, dts, (pkt->flags & AV_PKT_FLAG_KEY) ? Py_True : Py_False);
    }
    av_packet_unref(pkt);
    return result;
}

static PyObject *reader_interrupt(Reader *self, PyObject *Py_UNUSED(ignored))
{
    self->interrupted = 1;
    Py_RETURN_NONE;
}

static PyObject *reader_close(Reader *self, PyObject *Py_UNUSED(ignored))
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "reader in use by another thread");
        return NULL;
    }
    reader_close_fmt(self);
    Py_RETURN_NONE;
}

static PyMethodDef reader_methods[] = {
    {"open", (PyCFunction)reader_open, METH_VARARGS,
     "open(url, options) -> (codec name, extradata or None, width, height)"},
    {"read", (PyCFunction)reader_read, METH_VARARGS, "read(packer=None): the next video packet."},
    {"interrupt", (PyCFunction)reader_interrupt, METH_NOARGS,
     "Make a blocked open() or read() return at once (from any thread)."},
    {"close", (PyCFunction)reader_close, METH_NOARGS, "Close the connection."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vigie.media._fastpath.Reader",
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One camera connection through libavformat, read without the GIL.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)reader_init,
    .tp_dealloc = (destructor)reader_dealloc,
    .tp_methods = reader_methods,
};

/* --------------------------------------------------------------- RtpReader */
/*
 * The data path of an RTSP session over TCP (RFC 2326 §10.12): the control
 * exchange (DESCRIBE, SETUP, PLAY, authentication, keep-alive) is done in
 * Python (rtsp.py) on a socket whose descriptor is handed here. Reads are
 * large (one recv() returns many interleaved RTP packets, where libavformat
 * makes two system calls per packet); RTP payloads are depacketized
 * (H.264: RFC 6184 single NAL, STAP-A, FU-A; H.265: RFC 7798 single, AP, FU)
 * into access units (marker bit or timestamp change) and packed.
 */

#define IN_CAP (256 * 1024)
#define MAX_AU_NALS MAX_NALS

typedef struct {
    PyObject_HEAD
    int fd;
    int channel;
    int codec;
    int payload_type;
    int timeout_ms;
    uint8_t *in;
    size_t in_start, in_end;
    uint8_t *au; /* NAL units, each preceded by a 4-byte length */
    size_t au_len, au_cap;
    size_t nal_off[MAX_AU_NALS]; /* offsets of the NAL payloads in au */
    size_t nal_len[MAX_AU_NALS];
    int nal_count;
    int fu_open; /* a fragmented NAL unit is being reassembled (the last entry) */
    int au_damaged;
    int has_au_ts;
    uint32_t au_ts;
    int has_ext;
    uint32_t last_ts;
    int64_t ext_ts; /* unwrapped 64-bit timestamp of last_ts */
    int has_seq;
    uint16_t next_seq;
    uint64_t packets, lost, bytes_in;
    int has_sr;
    double sr_offset_s; /* camera's wall clock minus ours, from the last RTCP sender report */
    const char *error; /* static message of the last protocol error */
    int sys_errno;
} RtpReader;

static int au_reserve(RtpReader *self, size_t extra)
{
    if (self->au_len + extra <= self->au_cap) return 0;
    size_t cap = self->au_cap ? self->au_cap : 65536;
    while (cap < self->au_len + extra) cap *= 2;
    if (cap > (64u << 20)) return -1; /* an access unit over 64 MiB: garbage */
    uint8_t *b = PyMem_RawRealloc(self->au, cap);
    if (b == NULL) return -1;
    self->au = b;
    self->au_cap = cap;
    return 0;
}

static void au_reset(RtpReader *self)
{
    self->au_len = 0;
    self->nal_count = 0;
    self->fu_open = 0;
    self->au_damaged = 0;
    self->has_au_ts = 0;
}

/* Append one whole NAL unit, or its first bytes when hdr_only (FU start). */
static int au_add_nal(RtpReader *self, const uint8_t *p, size_t n)
{
    if (self->nal_count == MAX_AU_NALS) {
        self->au_damaged = 1;
        return 0;
    }
    if (au_reserve(self, n) < 0) return -1;
    self->nal_off[self->nal_count] = self->au_len;
    self->nal_len[self->nal_count] = n;
    self->nal_count++;
    memcpy(self->au + self->au_len, p, n);
    self->au_len += n;
    return 0;
}

static int au_extend_last(RtpReader *self, const uint8_t *p, size_t n)
{
    if (au_reserve(self, n) < 0) return -1;
    memcpy(self->au + self->au_len, p, n);
    self->au_len += n;
    self->nal_len[self->nal_count - 1] += n;
    return 0;
}

/* Aggregation packet (H.264 STAP-A, H.265 AP): 16-bit sizes + NAL units from ``i``. */
static int depacketize_aggregate(RtpReader *self, const uint8_t *p, size_t n, size_t i)
{
    self->fu_open = 0;
    while (i + 2 <= n) {
        size_t sz = ((size_t)p[i] << 8) | p[i + 1];
        i += 2;
        if (sz == 0 || i + sz > n) {
            self->au_damaged = 1;
            break;
        }
        if (au_add_nal(self, p + i, sz) < 0) return -1;
        i += sz;
    }
    return 0;
}

/* Fragmentation unit (H.264 FU-A, H.265 FU): the first one carries the
 * rebuilt NAL header, the others continue it; one missing start damages it. */
static int depacketize_fu(RtpReader *self, const uint8_t *nal_header, size_t header_len,
                          int start, int end, const uint8_t *payload, size_t len)
{
    if (start) {
        if (au_add_nal(self, nal_header, header_len) < 0) return -1;
        if (self->nal_count == 0) return 0;
        self->fu_open = 1;
        return au_extend_last(self, payload, len);
    }
    if (!self->fu_open) {
        self->au_damaged = 1;
        return 0;
    }
    int r = au_extend_last(self, payload, len);
    if (end) self->fu_open = 0;
    return r;
}

/* Depacketize one RTP payload into the access unit. -1: out of memory. */
static int depacketize(RtpReader *self, const uint8_t *p, size_t n)
{
    if (self->codec == CODEC_H264) {
        if (n < 1) return 0;
        int t = p[0] & 0x1F;
        if (t >= 1 && t <= 23) {
            self->fu_open = 0;
            return au_add_nal(self, p, n);
        }
        if (t == 24) return depacketize_aggregate(self, p, n, 1); /* STAP-A */
        if (t == 28 && n >= 2) {                                  /* FU-A */
            uint8_t hdr = (uint8_t)((p[0] & 0xE0) | (p[1] & 0x1F));
            return depacketize_fu(self, &hdr, 1, p[1] & 0x80, p[1] & 0x40, p + 2, n - 2);
        }
        return 0; /* STAP-B, MTAP, FU-B: not used by cameras in non-interleaved mode */
    }
    if (n < 2) return 0; /* H.265 */
    int t = (p[0] >> 1) & 0x3F;
    if (t < 48) {
        self->fu_open = 0;
        return au_add_nal(self, p, n);
    }
    if (t == 48) return depacketize_aggregate(self, p, n, 2); /* aggregation packet */
    if (t == 49 && n >= 3) {                                  /* fragmentation unit */
        uint8_t hdr[2] = {(uint8_t)((p[0] & 0x81) | ((p[2] & 0x3F) << 1)), p[1]};
        return depacketize_fu(self, hdr, 2, p[2] & 0x80, p[2] & 0x40, p + 3, n - 3);
    }
    return 0; /* PACI and reserved types */
}

static int64_t unwrap_ts(RtpReader *self, uint32_t ts)
{
    if (!self->has_ext) {
        self->has_ext = 1;
        self->ext_ts = ts;
    } else {
        self->ext_ts += (int32_t)(ts - self->last_ts);
    }
    self->last_ts = ts;
    return self->ext_ts;
}

enum { STEP_MORE = 0, STEP_AU = 1, STEP_ERROR = -1, STEP_NOMEM = -2 };

/*
 * Consume buffered input until an access unit is complete (STEP_AU, the AU is
 * in self->au and its timestamp in *ts), more bytes are needed (STEP_MORE) or
 * the stream is not RTSP interleaved data (STEP_ERROR, self->error set).
 */
static int step(RtpReader *self, int64_t *ts)
{
    for (;;) {
        uint8_t *b = self->in + self->in_start;
        size_t avail = self->in_end - self->in_start;
        if (avail < 4) return STEP_MORE;
        if (b[0] == 'R') { /* an RTSP response (to a keep-alive) between packets */
            if (avail < 5) return STEP_MORE;
            if (memcmp(b, "RTSP/", 5) != 0) {
                self->error = "Invalid data found when processing input: not RTSP interleaved data";
                return STEP_ERROR;
            }
            const uint8_t *end = NULL;
            for (size_t i = 0; i + 4 <= avail; i++) {
                if (b[i] == '\r' && memcmp(b + i, "\r\n\r\n", 4) == 0) {
                    end = b + i + 4;
                    break;
                }
            }
            if (end == NULL) {
                if (avail > 16384) {
                    self->error = "Invalid data found when processing input: RTSP header too long";
                    return STEP_ERROR;
                }
                return STEP_MORE;
            }
            size_t body = 0;
            for (const uint8_t *q = b; q + 15 < end; q++) {
                if ((q[0] == 'C' || q[0] == 'c') && strncasecmp((const char *)q, "content-length:", 15) == 0) {
                    body = strtoul((const char *)q + 15, NULL, 10);
                    break;
                }
            }
            size_t total = (size_t)(end - b) + body;
            if (total > avail) {
                if (total > IN_CAP) {
                    self->error = "Invalid data found when processing input: RTSP body too long";
                    return STEP_ERROR;
                }
                return STEP_MORE;
            }
            self->in_start += total;
            continue;
        }
        if (b[0] != '$') {
            self->error = "Invalid data found when processing input: not RTSP interleaved data";
            return STEP_ERROR;
        }
        size_t len = ((size_t)b[2] << 8) | b[3];
        if (avail < 4 + len) return STEP_MORE;
        const uint8_t *p = b + 4;
        if (b[1] == self->channel + 1 && len >= 20 && (p[0] >> 6) == 2 && p[1] == 200) {
            /* RTCP sender report: NTP time of the camera's clock when sent */
            uint32_t sec = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
            uint32_t frac = ((uint32_t)p[12] << 24) | ((uint32_t)p[13] << 16) | ((uint32_t)p[14] << 8) | p[15];
            if (sec != 0) {
                struct timespec now;
                clock_gettime(CLOCK_REALTIME, &now);
                double camera = (double)sec - 2208988800.0 + (double)frac / 4294967296.0;
                double ours = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
                self->sr_offset_s = camera - ours;
                self->has_sr = 1;
            }
        }
        if (b[1] != self->channel || len < 12 || (p[0] >> 6) != 2 ||
            (p[1] & 0x7F) != self->payload_type) {
            self->in_start += 4 + len; /* RTCP, other channels, other payloads */
            continue;
        }
        int marker = p[1] & 0x80;
        uint16_t seq = (uint16_t)((p[2] << 8) | p[3]);
        uint32_t rtp_ts = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
        if (self->has_seq && seq != self->next_seq) {
            /* packets lost: the access unit in progress may lack its end */
            self->lost += (uint16_t)(seq - self->next_seq);
            self->next_seq = seq;
            if (self->au_len > 0 || self->fu_open) self->au_damaged = 1;
            self->fu_open = 0;
        }
        if (self->has_au_ts && rtp_ts != self->au_ts && self->au_len > 0) {
            /* the previous access unit ended without a marker: deliver it first
             * (this packet is read again by the next call) */
            *ts = unwrap_ts(self, self->au_ts);
            return STEP_AU;
        }
        self->in_start += 4 + len;
        size_t hdr = 12 + 4 * (size_t)(p[0] & 0x0F);
        if (p[0] & 0x10) { /* header extension */
            if (hdr + 4 > len) continue;
            hdr += 4 + 4 * (size_t)(((size_t)p[hdr + 2] << 8) | p[hdr + 3]);
        }
        size_t plen = len;
        if (p[0] & 0x20) { /* padding */
            size_t pad = p[len - 1];
            if (pad > plen) continue;
            plen -= pad;
        }
        if (hdr > plen) continue;
        self->packets++;
        self->has_seq = 1;
        self->next_seq = (uint16_t)(seq + 1);
        if (!self->has_au_ts) {
            self->has_au_ts = 1;
            self->au_ts = rtp_ts;
        }
        if (depacketize(self, p + hdr, plen - hdr) < 0) return STEP_NOMEM;
        if (marker && self->au_len > 0) {
            *ts = unwrap_ts(self, self->au_ts);
            return STEP_AU;
        }
        if (marker) au_reset(self);
    }
}

/* Make room and receive more bytes. 0: got some; -1: error in sys_errno/error. */
static int fill(RtpReader *self)
{
    if (self->in_start > 0) {
        size_t avail = self->in_end - self->in_start;
        memmove(self->in, self->in + self->in_start, avail);
        self->in_start = 0;
        self->in_end = avail;
    }
    if (self->in_end == IN_CAP) {
        self->error = "Invalid data found when processing input: packet larger than the buffer";
        return -1;
    }
    for (;;) {
        struct pollfd pfd = {self->fd, POLLIN, 0};
        int r = poll(&pfd, 1, self->timeout_ms);
        if (r < 0) {
            if (errno == EINTR) continue;
            self->sys_errno = errno;
            return -1;
        }
        if (r == 0) {
            self->sys_errno = ETIMEDOUT;
            return -1;
        }
        ssize_t got = recv(self->fd, self->in + self->in_end, IN_CAP - self->in_end, 0);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            self->sys_errno = errno;
            return -1;
        }
        if (got == 0) {
            self->error = "the camera ended the stream";
            self->sys_errno = 0;
            return -2;
        }
        self->in_end += (size_t)got;
        self->bytes_in += (uint64_t)got;
        return 0;
    }
}

static int rtp_init(RtpReader *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"fd", "codec", "payload_type", "channel", "timeout_ms", "initial", NULL};
    const char *codec;
    int fd, pt, channel = 0, timeout_ms = 4000;
    Py_buffer initial = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "isi|iiy*", kwlist, &fd, &codec, &pt, &channel,
                                     &timeout_ms, &initial))
        return -1;
    if (strcmp(codec, "h264") == 0) self->codec = CODEC_H264;
    else if (strcmp(codec, "hevc") == 0) self->codec = CODEC_HEVC;
    else {
        PyBuffer_Release(&initial);
        PyErr_Format(PyExc_ValueError, "no RTP depacketizer for codec %s", codec);
        return -1;
    }
    self->fd = fd;
    self->payload_type = pt;
    self->channel = channel;
    self->timeout_ms = timeout_ms;
    PyMem_RawFree(self->in);
    self->in = PyMem_RawMalloc(IN_CAP);
    if (self->in == NULL) {
        PyBuffer_Release(&initial);
        PyErr_NoMemory();
        return -1;
    }
    self->in_start = self->in_end = 0;
    if (initial.buf != NULL) { /* bytes read past the PLAY response */
        if ((size_t)initial.len > IN_CAP) {
            PyBuffer_Release(&initial);
            PyErr_SetString(PyExc_ValueError, "initial data larger than the buffer");
            return -1;
        }
        memcpy(self->in, initial.buf, (size_t)initial.len);
        self->in_end = (size_t)initial.len;
        PyBuffer_Release(&initial);
    }
    au_reset(self);
    return 0;
}

static void rtp_dealloc(RtpReader *self)
{
    PyMem_RawFree(self->in);
    PyMem_RawFree(self->au);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* read(packer) -> (access unit bytes, read instant, (new parameter sets or None, fragment or None)) */
static PyObject *rtp_read(RtpReader *self, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, &PackerType)) {
        PyErr_SetString(PyExc_TypeError, "packer must be a Packer");
        return NULL;
    }
    if (self->in == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "reader not initialised");
        return NULL;
    }
    Packer *packer = (Packer *)arg;
    int r = 0, perr = 0;
    size_t size = 0;
    double now = 0.0;
    self->error = NULL;
    self->sys_errno = 0;
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        int64_t ts = 0;
        int st = step(self, &ts);
        if (st == STEP_ERROR) { r = -1; break; }
        if (st == STEP_NOMEM) { r = -3; break; }
        if (st == STEP_AU) {
            if (self->au_damaged) { /* incomplete: dropped, the decoder resyncs on the next one */
                au_reset(self);
                continue;
            }
            Nal nals[MAX_AU_NALS];
            for (int i = 0; i < self->nal_count; i++) {
                nals[i].p = self->au + self->nal_off[i];
                nals[i].n = self->nal_len[i];
            }
            now = mono_now();
            size = self->au_len;
            perr = pack_nals(packer, nals, self->nal_count, 1, ts, 0, 0);
            au_reset(self);
            break;
        }
        int f = fill(self);
        if (f < 0) { r = f; break; }
    }
    Py_END_ALLOW_THREADS
    if (r == -3 || perr == -1) return PyErr_NoMemory();
    if (r == -2) return PyErr_Format(PyExc_EOFError, "%s", self->error);
    if (r == -1) {
        if (self->error != NULL) return PyErr_Format(PyExc_ValueError, "%s", self->error);
        errno = self->sys_errno;
        if (self->sys_errno == ETIMEDOUT) return PyErr_Format(PyExc_TimeoutError, "timed out: no data from the camera for %d ms", self->timeout_ms);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (perr < 0) return pack_error(perr);
    PyObject *pr = packer_result(packer);
    if (pr == NULL) return NULL;
    return Py_BuildValue("(ndN)", (Py_ssize_t)size, now, pr);
}

static PyObject *rtp_counters(RtpReader *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *offset = self->has_sr ? PyFloat_FromDouble(self->sr_offset_s) : (Py_INCREF(Py_None), Py_None);
    if (offset == NULL) return NULL;
    return Py_BuildValue("{sKsKsKsN}", "packets", (unsigned long long)self->packets, "lost",
                         (unsigned long long)self->lost, "bytes", (unsigned long long)self->bytes_in,
                         "clock_offset_s", offset);
}

static PyMethodDef rtp_methods[] = {
    {"read", (PyCFunction)rtp_read, METH_O,
     "read(packer) -> (access unit bytes, read instant, packer result)"},
    {"counters", (PyCFunction)rtp_counters, METH_NOARGS, "RTP packets, packets lost, bytes read, camera clock offset (s) from RTCP."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RtpReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vigie.media._fastpath.RtpReader",
    .tp_basicsize = sizeof(RtpReader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "RTP over an RTSP TCP connection: depacketize and pack, without the GIL.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)rtp_init,
    .tp_dealloc = (destructor)rtp_dealloc,
    .tp_methods = rtp_methods,
};

/* ------------------------------------------------------------ luma_blocks */

/* luma_blocks(plane, k, limited_range) -> bytearray of the float32 k×k block means
 * of a 2-D uint8 plane (any row stride, columns contiguous), rows = h // k,
 * columns = w // k; a limited-range plane (16-235) is stretched to 0-255. */
static PyObject *luma_blocks(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *obj;
    int k, limited;
    if (!PyArg_ParseTuple(args, "Oip", &obj, &k, &limited)) return NULL;
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, PyBUF_STRIDED_RO) < 0) return NULL;
    if (v.ndim != 2 || v.itemsize != 1 || v.strides[1] != 1 || v.strides[0] < v.shape[1] || k < 1) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "luma_blocks needs a 2-D uint8 plane with contiguous rows and k >= 1");
        return NULL;
    }
    Py_ssize_t oh = v.shape[0] / k, ow = v.shape[1] / k, stride = v.strides[0], w = ow * k;
    PyObject *out = PyByteArray_FromStringAndSize(NULL, oh * ow * (Py_ssize_t)sizeof(float));
    /* column sums of k rows: uint16 holds k <= 257 rows of 255 */
    uint16_t *acc = PyMem_RawCalloc(w > 0 ? (size_t)w : 1, sizeof(uint16_t));
    if (out == NULL || acc == NULL || k > 257) {
        Py_XDECREF(out);
        PyMem_RawFree(acc);
        PyBuffer_Release(&v);
        if (k > 257) return PyErr_Format(PyExc_ValueError, "k = %d is over 257", k);
        return PyErr_NoMemory();
    }
    float *dst = (float *)PyByteArray_AS_STRING(out);
    const uint8_t *base = v.buf;
    float scale = limited ? (float)(255.0 / 219.0 / (double)(k * k)) : (float)(1.0 / (double)(k * k));
    float offset = limited ? (float)(16.0 * 255.0 / 219.0) : 0.0f;
    for (Py_ssize_t oy = 0; oy < oh; oy++) {
        const uint8_t *row = base + oy * k * stride;
        for (Py_ssize_t x = 0; x < w; x++) acc[x] = row[x]; /* vectorised: one pass per row */
        for (int j = 1; j < k; j++) {
            row += stride;
            for (Py_ssize_t x = 0; x < w; x++) acc[x] = (uint16_t)(acc[x] + row[x]);
        }
        for (Py_ssize_t ox = 0; ox < ow; ox++) {
            uint32_t sum = 0;
            for (int i = 0; i < k; i++) sum += acc[ox * k + i];
            dst[oy * ow + ox] = (float)sum * scale - offset;
        }
    }
    PyMem_RawFree(acc);
    PyBuffer_Release(&v);
    return out;
}

/* ------------------------------------------------- export: scan and gather */

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* scan_fragments(data, pos, end) -> (pos, dts, duration, size, offset, cts, sync)
 *
 * Index the fragments from ``pos`` laid out as the recorder writes them (the
 * Packer's one-sample moof + mdat, see the top of this file) and stop where
 * that layout stops (end of data, a truncated fragment, any other box).
 * Arrays come back as native-endian bytes: int64 decode times (source
 * timescale, absolute), int64 durations, uint32 sizes, int64 data offsets,
 * int32 composition offsets, and one byte per sample, 1 for a sync sample. */
static PyObject *scan_fragments(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *obj;
    Py_ssize_t pos, end;
    if (!PyArg_ParseTuple(args, "Onn", &obj, &pos, &end)) return NULL;
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, PyBUF_SIMPLE) < 0) return NULL;
    if (end > v.len) end = v.len;
    if (pos < 0) pos = 0;
    const uint8_t *d = v.buf;
    /* count first, then fill: no reallocation */
    Py_ssize_t n = 0, p = pos;
    Py_BEGIN_ALLOW_THREADS
    while (p + HEADER_BYTES <= end) {
        const uint8_t *h = d + p;
        uint32_t mdat = get_be32(h + 104);
        if (get_be32(h) != 104 || memcmp(h + 4, "moof", 4) != 0 || memcmp(h + 72, "trun", 4) != 0 ||
            get_be32(h + 76) != 0x01000F01u || get_be32(h + 80) != 1 || get_be32(h + 84) != HEADER_BYTES ||
            memcmp(h + 108, "mdat", 4) != 0 || mdat != 8u + get_be32(h + 92) ||
            get_be32(h + 40) != 0x020000u || p + 104 + (Py_ssize_t)mdat > end)
            break;
        n++;
        p += 104 + (Py_ssize_t)mdat;
    }
    Py_END_ALLOW_THREADS
    PyObject *dts = PyBytes_FromStringAndSize(NULL, n * 8);
    PyObject *dur = PyBytes_FromStringAndSize(NULL, n * 8);
    PyObject *size = PyBytes_FromStringAndSize(NULL, n * 4);
    PyObject *off = PyBytes_FromStringAndSize(NULL, n * 8);
    PyObject *cts = PyBytes_FromStringAndSize(NULL, n * 4);
    PyObject *sync = PyBytes_FromStringAndSize(NULL, n);
    if (!dts || !dur || !size || !off || !cts || !sync) {
        Py_XDECREF(dts); Py_XDECREF(dur); Py_XDECREF(size);
        Py_XDECREF(off); Py_XDECREF(cts); Py_XDECREF(sync);
        PyBuffer_Release(&v);
        return NULL;
    }
    int64_t *o_dts = (int64_t *)PyBytes_AS_STRING(dts), *o_dur = (int64_t *)PyBytes_AS_STRING(dur);
    uint32_t *o_size = (uint32_t *)PyBytes_AS_STRING(size);
    int64_t *o_off = (int64_t *)PyBytes_AS_STRING(off);
    int32_t *o_cts = (int32_t *)PyBytes_AS_STRING(cts);
    uint8_t *o_sync = (uint8_t *)PyBytes_AS_STRING(sync);
    p = pos;
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *h = d + p;
        o_dts[i] = (int64_t)(((uint64_t)get_be32(h + 60) << 32) | get_be32(h + 64));
        o_dur[i] = get_be32(h + 88);
        o_size[i] = get_be32(h + 92);
        o_off[i] = p + HEADER_BYTES;
        o_cts[i] = (int32_t)get_be32(h + 100);
        o_sync[i] = (get_be32(h + 96) & 0x00010000u) ? 0 : 1;
        p += 104 + (Py_ssize_t)get_be32(h + 104);
    }
    PyBuffer_Release(&v);
    return Py_BuildValue("nNNNNNN", p, dts, dur, size, off, cts, sync);
}

/* gather(dst, dst_pos, src, offsets, sizes, k, end, skip) -> (k, skip, dst_pos)
 *
 * Copy samples k..end-1 of ``src`` (int64 ``offsets``, uint32 ``sizes``) one
 * after the other into ``dst`` from ``dst_pos``, the first from its byte
 * ``skip``, until ``dst`` is full or the samples are done; return where to go
 * on. The GIL is released while copying. */
static PyObject *gather(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *o_dst, *o_src, *o_off, *o_size;
    Py_ssize_t dpos, k, end, skip;
    if (!PyArg_ParseTuple(args, "OnOOOnnn", &o_dst, &dpos, &o_src, &o_off, &o_size, &k, &end, &skip))
        return NULL;
    Py_buffer dst, src, off, size;
    if (PyObject_GetBuffer(o_dst, &dst, PyBUF_WRITABLE) < 0) return NULL;
    if (PyObject_GetBuffer(o_src, &src, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&dst);
        return NULL;
    }
    if (PyObject_GetBuffer(o_off, &off, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&dst);
        PyBuffer_Release(&src);
        return NULL;
    }
    if (PyObject_GetBuffer(o_size, &size, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&dst);
        PyBuffer_Release(&src);
        PyBuffer_Release(&off);
        return NULL;
    }
    const int64_t *offsets = off.buf;
    const uint32_t *sizes = size.buf;
    Py_ssize_t count = off.len / 8;
    int bad = k < 0 || end > count || size.len / 4 < end || dpos < 0 || dpos > dst.len || skip < 0;
    for (Py_ssize_t i = k; !bad && i < end; i++)
        if (offsets[i] < 0 || offsets[i] + (int64_t)sizes[i] > (int64_t)src.len) bad = 1;
    if (bad) {
        PyBuffer_Release(&dst);
        PyBuffer_Release(&src);
        PyBuffer_Release(&off);
        PyBuffer_Release(&size);
        PyErr_SetString(PyExc_ValueError, "gather: a sample lies outside its source or the arguments are out of range");
        return NULL;
    }
    uint8_t *out = dst.buf;
    const uint8_t *in = src.buf;
    Py_BEGIN_ALLOW_THREADS
    while (k < end && dpos < dst.len) {
        Py_ssize_t left = (Py_ssize_t)sizes[k] - skip, room = dst.len - dpos;
        Py_ssize_t take = left < room ? left : room;
        memcpy(out + dpos, in + offsets[k] + skip, (size_t)take);
        dpos += take;
        if (take == left) {
            k++;
            skip = 0;
        } else {
            skip += take;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&dst);
    PyBuffer_Release(&src);
    PyBuffer_Release(&off);
    PyBuffer_Release(&size);
    return Py_BuildValue("nnn", k, skip, dpos);
}

/* start_writeback(fd, offset, length): ask the kernel to start writing that
 * range of a file to disk now (sync_file_range, SYNC_FILE_RANGE_WRITE), so a
 * final fsync has little left to wait for. Does not wait; no-op where the
 * file system does not support it. */
static PyObject *start_writeback(PyObject *Py_UNUSED(module), PyObject *args)
{
    int fd;
    long long offset, length;
    if (!PyArg_ParseTuple(args, "iLL", &fd, &offset, &length)) return NULL;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = sync_file_range(fd, (off64_t)offset, (off64_t)length, SYNC_FILE_RANGE_WRITE);
    Py_END_ALLOW_THREADS
    if (r != 0 && errno != EINVAL && errno != ESPIPE && errno != ENOSYS)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

static PyMethodDef module_functions[] = {
    {"start_writeback", start_writeback, METH_VARARGS,
     "start_writeback(fd, offset, length): start writing that range to disk, without waiting."},
    {"luma_blocks", luma_blocks, METH_VARARGS,
     "luma_blocks(plane, k, limited_range) -> bytearray of the float32 k x k block means."},
    {"scan_fragments", scan_fragments, METH_VARARGS,
     "scan_fragments(data, pos, end) -> (pos, dts, duration, size, offset, cts, sync): one-sample fragments indexed."},
    {"gather", gather, METH_VARARGS,
     "gather(dst, dst_pos, src, offsets, sizes, k, end, skip) -> (k, skip, dst_pos): samples copied into dst."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT, "vigie.media._fastpath",
    "Per-packet ingest path in C: libavformat reading and fMP4 packing.", -1, module_functions,
};

PyMODINIT_FUNC PyInit__fastpath(void)
{
    if (PyType_Ready(&PackerType) < 0 || PyType_Ready(&ReaderType) < 0 ||
        PyType_Ready(&RtpReaderType) < 0)
        return NULL;
    av_log_set_level(AV_LOG_QUIET); /* errors come back as exceptions */
    avformat_network_init();
    PyObject *m = PyModule_Create(&fastpath_module);
    if (m == NULL) return NULL;
    Py_INCREF(&PackerType);
    if (PyModule_AddObject(m, "Packer", (PyObject *)&PackerType) < 0) {
        Py_DECREF(&PackerType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ReaderType);
    if (PyModule_AddObject(m, "Reader", (PyObject *)&ReaderType) < 0) {
        Py_DECREF(&ReaderType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&RtpReaderType);
    if (PyModule_AddObject(m, "RtpReader", (PyObject *)&RtpReaderType) < 0) {
        Py_DECREF(&RtpReaderType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "HEADER_BYTES", HEADER_BYTES);
    return m;
}
