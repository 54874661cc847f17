// Batched datagram I/O for the UDP listeners: recvmmsg(2) and sendmmsg(2) behind Node-API.
//
// node:dgram makes two system calls and several JavaScript objects per query (a Buffer, an
// rinfo with the address as a string, a send request), which is most of what a cached answer
// costs. Here one readiness callback reads up to `slots` datagrams with one recvmmsg into a
// buffer JavaScript owns, the answers go out with one sendmmsg, and a peer's address stays a
// sockaddr in C unless the slow path asks for it as text.
//
// The socket joins the port's SO_REUSEPORT group like node:dgram's `reusePort`, so the main
// thread and query threads share a port whichever I/O each uses. Readiness comes from a
// uv_poll_t on the thread's own libuv loop (a worker's loop in a query thread), and an async
// cleanup hook closes it when the environment is torn down, as a worker's loop must have no
// handle left open.
//
// JavaScript side: shared/native/udp-batch.ts. Built by shared/native/build.sh (npm install);
// without a C compiler zonelog uses node:dgram.

#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define MAX_SLOTS 256

typedef struct {
  uv_poll_t poll;                      // first: the handle's address is the socket's
  napi_env env;
  napi_ref on_readable;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle hook;
  int fd;
  int closing;
  unsigned slots;
  size_t slot_size;
  uint8_t* in;                         // slots × slot_size, JavaScript's ArrayBuffer
  int32_t* in_len;                     // per slot: datagram length, -1 if it was truncated
  uint8_t* out;                        // answers, JavaScript's ArrayBuffer
  size_t out_size;
  int32_t* out_desc;                   // per answer: slot, offset in out, length
  struct sockaddr_storage peer[MAX_SLOTS];
  struct mmsghdr rmsg[MAX_SLOTS];
  struct iovec riov[MAX_SLOTS];
  struct mmsghdr smsg[MAX_SLOTS];
  struct iovec siov[MAX_SLOTS];
  struct sockaddr_storage later[MAX_SLOTS];  // sendToMany's addresses
} sock_t;

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "udp-batch: Node-API call failed: " #call); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value m, e, code;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  // The same `code` node:dgram's errors carry (EADDRINUSE, EACCES, ...), for callers that look.
  const char* name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_set_named_property(env, e, "code", code);
  napi_throw(env, e);
  return NULL;
}

static sock_t* get_sock(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "udp-batch: not a socket");
    return NULL;
  }
  sock_t* s = p;
  if (s->closing) {
    napi_throw_error(env, NULL, "udp-batch: socket is closed");
    return NULL;
  }
  return s;
}

// A call's arguments (up to n; missing ones are undefined) and its socket, argv[0]; NULL with
// an exception pending when argv[0] is not an open socket.
static sock_t* sock_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "udp-batch: Node-API call failed: napi_get_cb_info");
    return NULL;
  }
  return get_sock(env, argv[0]);
}

static void on_closed(uv_handle_t* h) {
  sock_t* s = (sock_t*)h;
  close(s->fd);
  if (s->hook) napi_remove_async_cleanup_hook(s->hook);
  free(s);
}

static void start_close(sock_t* s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t*)&s->poll, on_closed);
}

// The environment is going away (a worker ending, or the process): close what it would leak.
static void on_teardown(napi_async_cleanup_hook_handle hook, void* arg) {
  sock_t* s = arg;
  s->hook = hook;
  if (s->closing) return;  // close() already started; on_closed removes the hook
  start_close(s);
}

static void on_poll(uv_poll_t* h, int status, int events) {
  (void)events;
  sock_t* s = (sock_t*)h;
  if (s->closing) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, result, arg;
  napi_get_reference_value(env, s->on_readable, &cb);
  napi_get_global(env, &recv);  // make_callback needs an object for `this`
  napi_get_boolean(env, status < 0, &arg);
  // make_callback runs the microtask queue afterwards, as any I/O callback would.
  if (cb && napi_make_callback(env, s->async_ctx, recv, cb, 1, &arg, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static int parse_addr(const char* text, int port, struct sockaddr_storage* ss, socklen_t* len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in* a4 = (struct sockaddr_in*)ss;
  struct sockaddr_in6* a6 = (struct sockaddr_in6*)ss;
  if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return AF_INET6;
  }
  return -1;
}

static void* buffer_data(napi_env env, napi_value v, size_t* len) {
  void* data = NULL;
  bool is;
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, v, &data, len) != napi_ok) return NULL;
    return data;
  }
  napi_typedarray_type t;
  size_t n;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok) return NULL;
  size_t unit = (t == napi_int32_array || t == napi_uint32_array) ? 4 : (t == napi_uint8_array ? 1 : 0);
  if (unit == 0) return NULL;
  *len = n * unit;
  return data;
}

// open(address, port, inBuffer, slotSize, inLen, outBuffer, outDesc, onReadable) -> socket
// inBuffer holds inLen.length slots of slotSize; outDesc holds 3 int32 per answer.
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "udp-batch: open takes 8 arguments");
    return NULL;
  }
  char addr[64];
  size_t alen;
  int32_t port, slot_size;
  if (napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &alen) != napi_ok || napi_get_value_int32(env, argv[1], &port) != napi_ok ||
      napi_get_value_int32(env, argv[3], &slot_size) != napi_ok || slot_size <= 0) {
    napi_throw_type_error(env, NULL, "udp-batch: bad address, port or slot size");
    return NULL;
  }
  size_t in_size, len_size, out_size, desc_size;
  uint8_t* in = buffer_data(env, argv[2], &in_size);
  int32_t* in_len = buffer_data(env, argv[4], &len_size);
  uint8_t* out = buffer_data(env, argv[5], &out_size);
  int32_t* out_desc = buffer_data(env, argv[6], &desc_size);
  unsigned slots = (unsigned)(len_size / 4);
  if (!in || !in_len || !out || !out_desc || slots == 0 || slots > MAX_SLOTS || in_size < (size_t)slots * (size_t)slot_size || desc_size < (size_t)slots * 12) {
    napi_throw_type_error(env, NULL, "udp-batch: buffers do not match the slot count and size");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sslen;
  int family = parse_addr(addr, port, &ss, &sslen);
  if (family < 0) {
    napi_throw_type_error(env, NULL, "udp-batch: not an IP address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr*)&ss, sslen) != 0) {
    int err = errno;
    close(fd);
    char what[128];
    snprintf(what, sizeof what, "bind %s:%d", addr, port);
    return throw_errno(env, what, err);
  }
  sock_t* s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->slots = slots;
  s->slot_size = (size_t)slot_size;
  s->in = in;
  s->in_len = in_len;
  s->out = out;
  s->out_size = out_size;
  s->out_desc = out_desc;
  for (unsigned i = 0; i < slots; i++) {
    s->riov[i].iov_base = in + (size_t)i * s->slot_size;
    s->riov[i].iov_len = s->slot_size;
  }
  uv_loop_t* loop;
  napi_value name;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_reference(env, argv[7], 1, &s->on_readable) != napi_ok ||
      napi_create_string_utf8(env, "zonelog.udp", NAPI_AUTO_LENGTH, &name) != napi_ok || napi_async_init(env, NULL, name, &s->async_ctx) != napi_ok ||
      uv_poll_init(loop, &s->poll, fd) != 0) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "udp-batch: cannot watch the socket");
    return NULL;
  }
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  napi_add_async_cleanup_hook(env, on_teardown, s, &s->hook);
  napi_value ext;
  CHECK(napi_create_external(env, s, NULL, NULL, &ext));
  return ext;
}

// recv(socket) -> number of datagrams now in the slots (0 when none is waiting)
static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  sock_t* s = sock_args(env, info, 1, argv);
  if (!s) return NULL;
  for (unsigned i = 0; i < s->slots; i++) {
    struct msghdr* h = &s->rmsg[i].msg_hdr;
    h->msg_name = &s->peer[i];
    h->msg_namelen = sizeof s->peer[i];
    h->msg_iov = &s->riov[i];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
  }
  int n;
  do n = recvmmsg(s->fd, s->rmsg, s->slots, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  // EAGAIN: nothing waiting. Anything else (an ICMP error queued on the socket) is not about
  // a datagram we could answer, and the next read goes on.
  if (n < 0) n = 0;
  for (int i = 0; i < n; i++) s->in_len[i] = (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)s->rmsg[i].msg_len;
  CHECK(napi_create_int32(env, n, &r));
  return r;
}

// Waits up to 20 ms for room in the socket's send buffer: the same wait node:dgram's queue
// gives an answer, bounded so that a flood never stalls the thread for long.
static int wait_writable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  return poll(&p, 1, 20) > 0;
}

// Sends smsg[0 .. count) with as few sendmmsg calls as the kernel allows; returns how many
// were handed over, counting one it refused outright as dealt with.
static int send_all(sock_t* s, int count) {
  int sent = 0, waits = 0;
  while (sent < count) {
    int n = sendmmsg(s->fd, s->smsg + sent, (unsigned)(count - sent), MSG_DONTWAIT);
    if (n > 0) {
      sent += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && waits++ < 3 && wait_writable(s->fd)) continue;
    // Unsendable (its peer unreachable, say), or still no room: this answer is dropped, as
    // any datagram may be, and the rest go on.
    sent++;
  }
  return sent;
}

// send(socket, count) -> answers sent. Answer i is out[desc[3i+1] .. +desc[3i+2]] to the
// sender of slot desc[3i].
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[2], r;
  sock_t* s = sock_args(env, info, 2, argv);
  if (!s) return NULL;
  int32_t count;
  CHECK(napi_get_value_int32(env, argv[1], &count));
  if (count < 0 || (unsigned)count > s->slots) {
    napi_throw_range_error(env, NULL, "udp-batch: answer count out of range");
    return NULL;
  }
  for (int i = 0; i < count; i++) {
    int32_t slot = s->out_desc[3 * i], off = s->out_desc[3 * i + 1], len = s->out_desc[3 * i + 2];
    if (slot < 0 || (unsigned)slot >= s->slots || off < 0 || len < 0 || (size_t)off + (size_t)len > s->out_size) {
      napi_throw_range_error(env, NULL, "udp-batch: answer outside the buffers");
      return NULL;
    }
    struct msghdr* h = &s->smsg[i].msg_hdr;
    s->siov[i].iov_base = s->out + off;
    s->siov[i].iov_len = (size_t)len;
    h->msg_name = &s->peer[slot];
    h->msg_namelen = s->rmsg[slot].msg_hdr.msg_namelen;
    h->msg_iov = &s->siov[i];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
  }
  CHECK(napi_create_int32(env, send_all(s, count), &r));
  return r;
}

// sendTo(socket, bytes, address, port) -> true if sent: an answer that was not ready in the
// turn its query arrived (the slot has been reused since), so the address comes as text.
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  napi_value argv[4], r;
  sock_t* s = sock_args(env, info, 4, argv);
  if (!s) return NULL;
  size_t len;
  void* data = buffer_data(env, argv[1], &len);
  char addr[64];
  size_t alen;
  int32_t port;
  if (!data || napi_get_value_string_utf8(env, argv[2], addr, sizeof addr, &alen) != napi_ok || napi_get_value_int32(env, argv[3], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "udp-batch: sendTo(socket, bytes, address, port)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (parse_addr(addr, port, &ss, &sslen) < 0) {
    napi_throw_type_error(env, NULL, "udp-batch: not an IP address");
    return NULL;
  }
  ssize_t n;
  int waits = 0;
  for (;;) {
    n = sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr*)&ss, sslen);
    if (n >= 0 || errno == EINTR) {
      if (n >= 0) break;
      continue;
    }
    if ((errno == EAGAIN || errno == ENOBUFS) && waits++ < 3 && wait_writable(s->fd)) continue;
    break;
  }
  CHECK(napi_get_boolean(env, n >= 0, &r));
  return r;
}

// sendToMany(socket, bytes[], addresses[], ports[]) -> how many were sent: answers that were
// not ready in the turn their queries came (an UPDATE's, after its commit), gathered over one
// turn and sent with one sendmmsg per MAX_SLOTS.
static napi_value js_send_to_many(napi_env env, napi_callback_info info) {
  napi_value argv[4], r;
  sock_t* s = sock_args(env, info, 4, argv);
  if (!s) return NULL;
  uint32_t total, na, np;
  if (napi_get_array_length(env, argv[1], &total) != napi_ok || napi_get_array_length(env, argv[2], &na) != napi_ok ||
      napi_get_array_length(env, argv[3], &np) != napi_ok || na != total || np != total) {
    napi_throw_type_error(env, NULL, "udp-batch: sendToMany(socket, bytes[], addresses[], ports[]) with arrays of one length");
    return NULL;
  }
  int sent = 0;
  for (uint32_t base = 0; base < total; base += MAX_SLOTS) {
    int count = 0;
    for (uint32_t i = base; i < total && i < base + MAX_SLOTS; i++) {
      napi_value b, a, p;
      char addr[64];
      size_t alen, len;
      int32_t port;
      void* data;
      socklen_t sslen;
      if (napi_get_element(env, argv[1], i, &b) != napi_ok || napi_get_element(env, argv[2], i, &a) != napi_ok || napi_get_element(env, argv[3], i, &p) != napi_ok ||
          !(data = buffer_data(env, b, &len)) || napi_get_value_string_utf8(env, a, addr, sizeof addr, &alen) != napi_ok ||
          napi_get_value_int32(env, p, &port) != napi_ok || parse_addr(addr, port, &s->later[count], &sslen) < 0) {
        napi_throw_type_error(env, NULL, "udp-batch: sendToMany: bad bytes, address or port");
        return NULL;
      }
      struct msghdr* h = &s->smsg[count].msg_hdr;
      s->siov[count].iov_base = data;
      s->siov[count].iov_len = len;
      h->msg_name = &s->later[count];
      h->msg_namelen = sslen;
      h->msg_iov = &s->siov[count];
      h->msg_iovlen = 1;
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
      count++;
    }
    sent += send_all(s, count);
  }
  CHECK(napi_create_int32(env, sent, &r));
  return r;
}

// peer(socket, slot) -> [address, port] of the datagram in that slot
static napi_value js_peer(napi_env env, napi_callback_info info) {
  napi_value argv[2], r, a, p;
  sock_t* s = sock_args(env, info, 2, argv);
  if (!s) return NULL;
  int32_t slot;
  CHECK(napi_get_value_int32(env, argv[1], &slot));
  if (slot < 0 || (unsigned)slot >= s->slots) {
    napi_throw_range_error(env, NULL, "udp-batch: slot out of range");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  struct sockaddr_storage* ss = &s->peer[slot];
  if (ss->ss_family == AF_INET) {
    struct sockaddr_in* a4 = (struct sockaddr_in*)ss;
    inet_ntop(AF_INET, &a4->sin_addr, text, sizeof text);
    port = ntohs(a4->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    struct sockaddr_in6* a6 = (struct sockaddr_in6*)ss;
    inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
    port = ntohs(a6->sin6_port);
  }
  CHECK(napi_create_array_with_length(env, 2, &r));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &a));
  CHECK(napi_create_int32(env, port, &p));
  CHECK(napi_set_element(env, r, 0, a));
  CHECK(napi_set_element(env, r, 1, p));
  return r;
}

// localPort(socket) -> the bound port (for a bind to port 0)
static napi_value js_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1], r;
  sock_t* s = sock_args(env, info, 1, argv);
  if (!s) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int port = 0;
  if (getsockname(s->fd, (struct sockaddr*)&ss, &len) == 0)
    port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6*)&ss)->sin6_port : ((struct sockaddr_in*)&ss)->sin_port);
  CHECK(napi_create_int32(env, port, &r));
  return r;
}

// close(socket): stops reading; the descriptor is closed on the loop's next turn.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) return NULL;
  sock_t* s = p;
  if (s->closing) return NULL;
  napi_delete_reference(env, s->on_readable);
  s->on_readable = NULL;
  napi_async_destroy(env, s->async_ctx);
  start_close(s);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"recv", NULL, js_recv, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
      {"sendToMany", NULL, js_send_to_many, NULL, NULL, NULL, napi_default, NULL},
      {"peer", NULL, js_peer, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
