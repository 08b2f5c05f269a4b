/** '#' for a public channel, a padlock for a private one (drawn, so no emoji font is needed). */
export function ChannelSigil({ isPrivate }: { isPrivate: boolean }) {
  if (!isPrivate) {
    return (
      <span class="channel-sigil" aria-hidden="true">
        #
      </span>
    );
  }
  return (
    <svg class="channel-sigil" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
      <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="1.6" />
    </svg>
  );
}
