"""The real-platform tools: the write plan against the quota, peak windows, the doctor, the
contract-drift check and the clean-up of what runs left enabled."""
