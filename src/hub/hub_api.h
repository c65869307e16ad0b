// The model hubs' file APIs, as their own clients use them.
// Hugging Face: GET {endpoint}/api/models/{repo}/revision/{rev} (the commit), then
//   GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true (paths, sizes, LFS sha256);
//   files at {endpoint}/{repo}/resolve/{commit}/{path} (redirected to a CDN).
// ModelScope: GET {endpoint}/api/v1/models/{repo}/repo/files?Revision={rev}&Recursive=true
//   (paths, sizes, Sha256); files at {endpoint}/api/v1/models/{repo}/repo?Revision={rev}&FilePath={path}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/http_fetch.h"

namespace xinfer {

struct HubFile {
    std::string path;
    uint64_t size = 0;
    std::string sha256;  // empty when the hub gives none (small non-LFS files on Hugging Face)
};

struct HubEndpoint {
    std::string hub;   // "huggingface" or "modelscope"
    std::string base;  // e.g. https://huggingface.co, or a mirror
};

struct RepoListing {
    HubEndpoint endpoint;
    std::string repo, revision;  // revision: the commit the files belong to
    std::vector<HubFile> files;
};

// Where to look for `hub`, in order: for Hugging Face the mirrors of `serve --hub-mirror`
// (XINFER_HUB_MIRRORS, comma-separated), then HF_ENDPOINT or https://huggingface.co; for
// ModelScope MODELSCOPE_ENDPOINT or https://www.modelscope.cn.
std::vector<HubEndpoint> endpoints_for(const std::string& hub);

// The hubs to try for a model with sources on `available` hubs: `requested` alone when given
// (download_hub), else XINFERENCE_MODEL_SRC, else ModelScope first for a Chinese locale and
// Hugging Face first otherwise, as Xinference does.
std::vector<std::string> hub_order(const std::string& requested, const std::vector<std::string>& available);

// Request headers for a hub: HF_TOKEN (or HUGGING_FACE_HUB_TOKEN) as a bearer token for Hugging
// Face, MODELSCOPE_API_TOKEN for ModelScope.
std::vector<std::string> hub_headers(const std::string& hub);

// Lists a repository's files at `revision` on the first endpoint of `endpoints` that answers.
// Throws FetchError with a message a user can act on (gated repo and no token, no such repo,
// hub unreachable).
RepoListing list_repo(const std::vector<HubEndpoint>& endpoints, const std::string& repo, const std::string& revision,
                      const FetchOptions& options);

// The download URL of one file of a listing.
std::string file_url(const RepoListing& listing, const std::string& path);

// True when XINFER_OFFLINE (or HF_HUB_OFFLINE) is set to 1: no connection is ever opened.
bool hub_offline();

}  // namespace xinfer
