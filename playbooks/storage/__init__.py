"""Where distribution blobs live: the BlobStorage protocol and its backends."""
