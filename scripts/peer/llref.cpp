// llref: llama.cpp's greedy continuations of fill-in-the-middle prompts, the
// reference that decode's TestFidelityGreedy compares Ghostline with.
//
// It is built against a llama.cpp build outside this repository (see
// README.md here) and is never part of the product. Input: one prompt per
// line, as space-separated token ids. Output: one JSON object per prompt
// and line, {"greedy":[...],"margins":[...],"second":[...],"ranges":[...]}:
// the chosen ids (ending with an end-of-generation id when it stopped
// before max_new) and, at each step, the top-1 − top-2 logit margin, the
// second-best id and the top-1 − min logit range, the fields of
// decode/testdata/fidelity/llamacpp-greedy.json.gz.
//
// Each prompt is evaluated in one llama_decode call (llama.cpp then splits
// it into micro-batches of n_ubatch tokens), then one token is decoded per
// call, taking the argmax. Settings are llama.cpp's defaults (f16 KV cache,
// flash attention auto) except those the environment changes:
// LLREF_THREADS (default 1), LLREF_UBATCH (default 512), LLREF_KV_F32=1
// (keys and values in f32, flash attention off).
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: llref MODEL.gguf PROMPTS.txt [max_new=48] > out.jsonl\n");
        return 2;
    }
    const int max_new = argc > 3 ? atoi(argv[3]) : 48;
    const int threads = env_int("LLREF_THREADS", 1);

    llama_backend_init();
    llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        fprintf(stderr, "llref: cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2048;
    cp.n_batch = 2048;
    cp.n_ubatch = env_int("LLREF_UBATCH", 512);
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    if (getenv("LLREF_KV_F32")) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
        cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "llref: cannot create a context\n");
        return 1;
    }

    FILE *in = fopen(argv[2], "r");
    if (!in) {
        perror(argv[2]);
        return 1;
    }
    char *line = nullptr;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, in) > 0) {
        std::istringstream fields(line);
        std::vector<llama_token> prompt;
        for (llama_token id; fields >> id;) prompt.push_back(id);
        if (prompt.empty()) continue;
        if ((int)prompt.size() + max_new > (int)cp.n_ctx) {
            fprintf(stderr, "llref: prompt %d has %zu tokens, over the context\n", n, prompt.size());
            return 1;
        }
        llama_memory_clear(llama_get_memory(ctx), true);
        if (llama_decode(ctx, llama_batch_get_one(prompt.data(), prompt.size()))) {
            fprintf(stderr, "llref: prompt %d: llama_decode failed\n", n);
            return 1;
        }
        std::string ids, margins, seconds, ranges;
        for (int step = 0; step < max_new; step++) {
            const float *logits = llama_get_logits_ith(ctx, -1);
            int best = 0, second = -1, low = 0;
            for (int i = 1; i < n_vocab; i++) {
                if (logits[i] > logits[best]) best = i;
                if (logits[i] < logits[low]) low = i;
            }
            for (int i = 0; i < n_vocab; i++) {
                if (i != best && (second < 0 || logits[i] > logits[second])) second = i;
            }
            const char *sep = step ? "," : "";
            char buf[64];
            ids += sep + std::to_string(best);
            seconds += sep + std::to_string(second);
            snprintf(buf, sizeof buf, "%s%.6g", sep, logits[best] - logits[second]);
            margins += buf;
            snprintf(buf, sizeof buf, "%s%.6g", sep, logits[best] - logits[low]);
            ranges += buf;
            if (llama_vocab_is_eog(vocab, best)) break;
            llama_token next = best;
            if (llama_decode(ctx, llama_batch_get_one(&next, 1))) {
                fprintf(stderr, "llref: prompt %d step %d: llama_decode failed\n", n, step);
                return 1;
            }
        }
        printf("{\"greedy\":[%s],\"margins\":[%s],\"second\":[%s],\"ranges\":[%s]}\n",
               ids.c_str(), margins.c_str(), seconds.c_str(), ranges.c_str());
        fflush(stdout);
        fprintf(stderr, "\rllref: %d prompts", ++n);
    }
    fprintf(stderr, "\n");
    free(line);
    fclose(in);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
