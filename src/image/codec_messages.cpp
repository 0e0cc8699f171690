// Codec messages through our logger; see include/vit/image/codec_messages.h.
#include "vit/image/codec_messages.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace vit {

namespace {
std::atomic<unsigned long> g_warnings{0};
}  // namespace

void log_codec_warning(const char* codec, const char* message) {
  ++g_warnings;
  spdlog::info("{} decoder: {}", codec, message ? message : "(no message)");
}

unsigned long codec_warning_count() { return g_warnings.load(); }

}  // namespace vit

// libpng's entry point, as png.h declares it (png_structp is a pointer to an opaque struct).
// OpenCV passes no warning handler, so libpng would print to stderr itself; this definition in
// the executable comes first in symbol lookup, adds ours, and calls the real one.
extern "C" {
using vit_png_msg_fn = void (*)(void* png, const char* message);
using vit_png_create_fn = void* (*)(const char*, void*, vit_png_msg_fn, vit_png_msg_fn);

static void vit_png_warning(void*, const char* message) { vit::log_codec_warning("PNG", message); }

// libpng's errors end the decode by longjmp (OpenCV catches that and reports a failed decode);
// ours logs the message first instead of printing it.
[[noreturn]] static void vit_png_error(void* png, const char* message) {
  vit::log_codec_warning("PNG", message);
  static const auto longjmp_fn = reinterpret_cast<void (*)(void*, int)>(dlsym(RTLD_DEFAULT, "png_longjmp"));
  if (longjmp_fn) longjmp_fn(png, 1);
  std::abort();  // libpng without png_longjmp (before 1.5): cannot happen with Debian's 1.6
}

__attribute__((visibility("default"))) void* png_create_read_struct(const char* version, void* error_ptr,
                                                                    vit_png_msg_fn error_fn, vit_png_msg_fn warn_fn) {
  static const auto real = reinterpret_cast<vit_png_create_fn>(dlsym(RTLD_NEXT, "png_create_read_struct"));
  if (!real) return nullptr;  // libpng is not loaded: OpenCV then reports that it cannot decode
  return real(version, error_ptr, error_fn ? error_fn : vit_png_error, warn_fn ? warn_fn : vit_png_warning);
}

// libjpeg: jpeg_std_error fills an error manager whose output_message prints to stderr (such
// as "Corrupt JPEG data: 11 extraneous bytes before marker 0xd9"); ours logs instead. The
// manager begins with these four function pointers in every libjpeg since 6b, and a
// decompressor's first field points to its manager.
struct vit_jpeg_error_prefix {
  void (*error_exit)(void* cinfo);
  void (*emit_message)(void* cinfo, int msg_level);
  void (*output_message)(void* cinfo);
  void (*format_message)(void* cinfo, char* buffer);
};

static void vit_jpeg_output(void* cinfo) {
  const vit_jpeg_error_prefix* err = *static_cast<vit_jpeg_error_prefix**>(cinfo);
  char message[200];  // JMSG_LENGTH_MAX
  message[0] = '\0';
  err->format_message(cinfo, message);
  vit::log_codec_warning("JPEG", message);
}

__attribute__((visibility("default"))) void* jpeg_std_error(void* err) {
  static const auto real = reinterpret_cast<void* (*)(void*)>(dlsym(RTLD_NEXT, "jpeg_std_error"));
  if (!real) return err;
  void* filled = real(err);
  if (filled) static_cast<vit_jpeg_error_prefix*>(filled)->output_message = vit_jpeg_output;
  return filled;
}
}

// OpenJPEG: OpenCV installs handlers that print through its own logger (the "[ERROR:0@0.1]
// OpenJPEG2000: ..." lines that reached stderr without -v); these definitions come first in
// symbol lookup, as png_create_read_struct's does, and install ours instead. OpenJPEG's
// messages end with a newline, which the logger adds itself.
extern "C" {
using vit_opj_msg_fn = void (*)(const char* message, void* client_data);
using vit_opj_set_fn = int (*)(void* codec, vit_opj_msg_fn fn, void* client_data);

static void vit_opj_message(const char* message, void*) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  vit::log_codec_warning("JPEG 2000", text.c_str());
}

static int vit_opj_set(const char* which, void* codec, void* client_data) {
  const auto real = reinterpret_cast<vit_opj_set_fn>(dlsym(RTLD_NEXT, which));
  return real ? real(codec, vit_opj_message, client_data) : 0;
}

__attribute__((visibility("default"))) int opj_set_error_handler(void* codec, vit_opj_msg_fn, void* client_data) {
  return vit_opj_set("opj_set_error_handler", codec, client_data);
}
__attribute__((visibility("default"))) int opj_set_warning_handler(void* codec, vit_opj_msg_fn, void* client_data) {
  return vit_opj_set("opj_set_warning_handler", codec, client_data);
}
__attribute__((visibility("default"))) int opj_set_info_handler(void* codec, vit_opj_msg_fn, void* client_data) {
  return vit_opj_set("opj_set_info_handler", codec, client_data);
}
}
