// lltok: tokenizes test inputs with llama.cpp, for the opt-in differential
// test TestAgainstLlamaCpp in model/tokenizer.
//
// Usage: lltok MODEL.gguf CASES ADD_SPECIAL(0|1) PARSE_SPECIAL(0|1)
// CASES holds the inputs separated by NUL bytes; lltok prints one line of
// space-separated token ids per input.
//
// Build against a llama.cpp checkout with libllama built (cmake --build build):
//   L=/path/to/llama.cpp
//   g++ -O1 -std=c++17 lltok.cpp -I$L/include -I$L/ggml/include -L$L/build/bin \
//       -lllama -lggml -lggml-base -Wl,-rpath,$L/build/bin -o lltok
// then: GHOSTLINE_LLTOK=$PWD/lltok go test -run AgainstLlamaCpp ./model/tokenizer
#include "llama.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static void quiet(enum ggml_log_level, const char *, void *) {}

int main(int argc, char ** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: lltok MODEL CASES ADD_SPECIAL PARSE_SPECIAL\n");
        return 2;
    }
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (model == nullptr) {
        fprintf(stderr, "lltok: cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);

    std::ifstream in(argv[2], std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string all = buf.str();
    const bool add_special = argv[3][0] == '1';
    const bool parse_special = argv[4][0] == '1';

    std::vector<llama_token> ids(1 << 16);
    for (size_t start = 0;;) {
        const size_t end = all.find('\0', start);
        const std::string text = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
        int n = llama_tokenize(vocab, text.data(), (int) text.size(), ids.data(), (int) ids.size(), add_special, parse_special);
        if (n < 0) {
            ids.resize(-n);
            n = llama_tokenize(vocab, text.data(), (int) text.size(), ids.data(), (int) ids.size(), add_special, parse_special);
        }
        for (int i = 0; i < n; i++) {
            printf(i ? " %d" : "%d", ids[i]);
        }
        printf("\n");
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    llama_model_free(model);
    return 0;
}
