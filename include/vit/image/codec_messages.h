// Codec libraries' own messages (libpng's "iCCP: known incorrect sRGB profile", libjpeg's
// "Corrupt JPEG data: ...", printed on stderr by default) go through our logger instead: shown
// at -v, never in the middle of results or the progress bar. codec_messages.cpp routes them
// here by interposing png_create_read_struct (OpenCV passes no warning handler) and
// jpeg_std_error (whose output_message prints).
#pragma once

namespace vit {

// Logs one codec message at info level (-v), e.g. ("PNG", "iCCP: known incorrect sRGB profile").
void log_codec_warning(const char* codec, const char* message);

// How many codec warnings were logged so far (for tests).
unsigned long codec_warning_count();

}  // namespace vit
