// Codec libraries' own messages (libpng's "iCCP: known incorrect sRGB profile", printed on
// stderr by default) go through our logger instead: shown at -v, never in the middle of
// results or the progress bar. codec_messages.cpp routes libpng's warnings here by
// interposing png_create_read_struct, which OpenCV calls without a warning handler.
#pragma once

namespace vit {

// Logs one codec message at info level (-v), e.g. ("PNG", "iCCP: known incorrect sRGB profile").
void log_codec_warning(const char* codec, const char* message);

// How many codec warnings were logged so far (for tests).
unsigned long codec_warning_count();

}  // namespace vit
